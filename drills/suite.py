"""A suite: every drill of a cadence (`--suite quarterly`), one after the other, one summary.

Each drill gets its own fresh sandbox (or the same named target) and its own run folder below the
suite's; a drill that is refused or crashes is recorded as aborted and the suite goes on, so one
broken drill never hides the others' numbers. A drill the target cannot run at all (known without
touching it: a Kubernetes target has no scratch restore) is left out and named, as `drills
schedule` names it, so a cluster's CronJob can run its cadence's whole suite.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from drills.catalog import Scenario
from drills.catalog import suite as suite_scenarios
from drills.dryrun import kubernetes_cannot_run
from drills.errors import DrillError, ExitCode
from drills.lifecycle import new_run_id
from drills.models import Verdict
from drills.reports.suite import SuiteEntry, suite_verdict, write_suite
from drills.runner import Runner, RunRequest, exit_code_for
from drills.targets.base import TargetKind
from drills.targets.profiles import read_profile
from drills.targets.registry import SpecKind, parse_spec


@dataclass(frozen=True)
class SuiteOutcome:
    name: str
    out_dir: Path
    entries: tuple[SuiteEntry, ...]
    wall_seconds: float

    @property
    def verdict(self) -> Verdict:
        return suite_verdict(self.entries)

    @property
    def exit_code(self) -> ExitCode:
        return exit_code_for(self.verdict)


def cannot_run(target: str, scenario: Scenario) -> list[str]:
    """The steps of `scenario` that the kind of `target` cannot run at all (none for a sandbox)."""
    spec = parse_spec(target)
    if spec.kind is not SpecKind.PROFILE or spec.path is None:
        return []
    if read_profile(spec.path).get("kind") != TargetKind.KUBERNETES:
        return []
    return kubernetes_cannot_run(scenario.path)


def run_suite(
    runner: Runner,
    name: str,
    *,
    target: str,
    out: Path | None,
    allow_production: bool = False,
) -> SuiteOutcome:
    scenarios = suite_scenarios(name)
    out_dir = (out or runner.settings.home / "runs" / new_run_id(f"suite-{name}")).resolve()
    started = time.monotonic()
    entries: list[SuiteEntry] = []
    for index, scenario in enumerate(scenarios, 1):
        runner.say(f"\n[bold]Suite {name}: drill {index}/{len(scenarios)}: {scenario.name}[/]")
        run_dir = out_dir / scenario.name
        try:
            cannot = cannot_run(target, scenario)
            if cannot:
                why = "left out: the target cannot run it (" + "; ".join(cannot) + ")"
                entries.append(SuiteEntry(scenario.name, None, None, why, left_out=True))
                runner.say(f"  {why}")
                continue
            outcome = runner.run(
                RunRequest(scenario.name, target, run_dir, allow_production=allow_production)
            )
        except DrillError as exc:
            entries.append(SuiteEntry(scenario.name, None, None, str(exc)))
            runner.say(f"  refused: {exc}")
            continue
        except Exception as exc:  # one broken drill must not hide the others' numbers
            entries.append(SuiteEntry(scenario.name, None, None, f"crashed: {exc!r}"))
            runner.say(f"  crashed: {exc!r}")
            continue
        result = outcome.conclusion.result if outcome.conclusion else None
        entries.append(SuiteEntry(scenario.name, outcome.run_dir, result, outcome.message))
        if result is not None:
            runner.say(f"  {result.verdict.value}: {result.verdict_reason}")
        if outcome.interrupted:
            runner.say("  interrupted: the suite stops here")
            break
    wall = time.monotonic() - started
    write_suite(name, entries, wall, out_dir)
    return SuiteOutcome(name, out_dir, tuple(entries), wall)
