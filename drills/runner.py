"""`drills run`: one measured drill, from input checks to verdict.

Order matters and follows DESIGN.md: refuse bad input before touching anything; hold the target's
lock; check the steady state before any fault; measure around the whole experiment; always roll
back; keep what was measured even when interrupted; then conclude and report.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from drills import control
from drills.catalog import Scenario, resolve
from drills.chaosrun import ChaosOptions, chaostoolkit_log, check_chaos_options, run_like_chaos
from drills.dryrun import DryRun
from drills.errors import (
    ExitCode,
    InputError,
    TargetUnreachableError,
)
from drills.experiment import designate_fault, load_for_run
from drills.history import History
from drills.interrupts import deferred_interrupts, sigterm_as_interrupt
from drills.lifecycle import DrillLifecycle, new_run_id, objectives_for
from drills.models import DrillRef, TargetRef, Verdict
from drills.objectives import ObjectiveTargets
from drills.outcome import Conclusion
from drills.progress import DrillProgress
from drills.runfolder import prepare_run_folder
from drills.settings import Settings
from drills.targets import registry
from drills.targets.base import TargetKind
from drills.targets.registry import SpecKind, TargetSpec, parse_spec
from drills.targets.sandbox.warden import sweep_orphans


@dataclass(frozen=True)
class RunRequest:
    scenario: str
    target: str = registry.FRESH_SANDBOX
    out: Path | None = None
    dry_run: bool = False
    allow_production: bool = False
    fault: str | None = None  # the method activity to take as the fault (else tags, else first)
    chaos: ChaosOptions = field(default_factory=ChaosOptions)  # `chaos run`'s flags
    invocation: str | None = None  # shared by the runs of one `drills run --repeat N`


@dataclass(frozen=True)
class RunOutcome:
    exit_code: ExitCode
    run_dir: Path | None
    conclusion: Conclusion | None
    message: str
    interrupted: bool = False  # Ctrl-C or SIGTERM: a suite stops here


def exit_code_for(verdict: Verdict) -> ExitCode:
    return {
        Verdict.MET: ExitCode.MET,
        Verdict.MISSED: ExitCode.MISSED,
        Verdict.INVALID: ExitCode.ABORTED,
        Verdict.ABORTED: ExitCode.ABORTED,
    }[verdict]


class Runner:
    """Runs one drill; the CLI makes one per `drills run`."""

    def __init__(self, settings: Settings, console: Console | None = None) -> None:
        self.settings = settings
        self.console = console or Console(stderr=True)
        self.interrupted_in_teardown = False  # Ctrl-C or SIGTERM while the run was ending

    def say(self, message: str) -> None:
        self.console.print(message, highlight=False)

    def plan(self, scenario: Scenario, spec: TargetSpec, experiment: dict[str, Any]) -> str:
        lines = [f"Drill plan: {scenario.name} - {scenario.title}", f"  target: {spec.text}"]
        for section, key in (("steady state", "steady-state-hypothesis"), ("method", "method")):
            block = experiment.get(key) or {}
            activities = block.get("probes", []) if key == "steady-state-hypothesis" else block
            lines.append(f"  {section}:")
            for activity in activities:
                tags = activity.get("tags") or []
                mark = "  [fault]" if "fault" in tags else ""
                lines.append(f"    - {activity.get('type')}: {activity.get('name')}{mark}")
        lines.append("  rollbacks:")
        for activity in experiment.get("rollbacks") or []:
            lines.append(f"    - {activity.get('type')}: {activity.get('name')}")
        return "\n".join(lines)

    def kubernetes_plan(
        self,
        spec: TargetSpec,
        experiment: dict[str, Any],
        allow_production: bool,
        *,
        steady_state: bool = True,
    ) -> DryRun | None:
        """The experiment planned step by step on a dry-run driver of the profile (see
        `drills.dryrun`); None when the profile is not a Kubernetes one. Refused like a real
        run for production."""
        from drills.dryrun import plan_experiment
        from drills.safety import RunMode
        from drills.targets.profiles import read_profile

        if spec.kind is not SpecKind.PROFILE or spec.path is None:
            return None
        if read_profile(spec.path).get("kind") != TargetKind.KUBERNETES:
            return None
        from drills.targets.kubernetes import open_kubernetes_profile

        target = open_kubernetes_profile(
            spec.path, allow_production=allow_production, mode=RunMode.DRY_RUN
        )
        registry.register(spec.text, target)
        try:
            with control.suspended():
                return plan_experiment(experiment, target, spec.text, steady_state=steady_state)
        finally:
            registry.unregister(spec.text)
            target.close()

    def run(self, request: RunRequest) -> RunOutcome:
        scenario = resolve(request.scenario)
        spec = parse_spec(request.target)
        objectives = objectives_for(spec)
        experiment = load_for_run(scenario.path)
        designate_fault(experiment, request.fault)
        check_chaos_options(experiment, request.chaos)
        if not request.dry_run:
            self.check_history()
        for orphan in sweep_orphans():
            self.say(f"Removed a fresh sandbox whose harness had died: {orphan}")
        if request.dry_run:
            try:
                dry = self.kubernetes_plan(spec, experiment, request.allow_production)
            except TargetUnreachableError as exc:  # a plan needs the reads: bad input, not a plan
                raise InputError(f"dry run: {exc}; nothing was planned or changed") from None
            if dry is None:
                return RunOutcome(ExitCode.MET, None, None, self.plan(scenario, spec, experiment))
            code = ExitCode.USAGE if dry.failures else ExitCode.MET
            return RunOutcome(code, None, None, dry.render())
        if spec.kind is SpecKind.PROFILE:  # preflight: name what is missing before any change
            found = self.kubernetes_plan(
                spec, experiment, request.allow_production, steady_state=False
            )
            if found is not None and found.failures:
                raise InputError(
                    f"{scenario.name} cannot run on {spec.text}:\n"
                    + "\n".join(f"  {line}" for line in found.failures)
                )
        run_id = new_run_id(scenario.name)
        folder = (
            prepare_run_folder(request.out)
            if request.out is not None
            else prepare_run_folder(self.settings.home / "runs" / run_id, "run folder")
        )  # before anything starts: a folder we cannot use is bad input, not a failed drill
        self.interrupted_in_teardown = False
        try:
            with sigterm_as_interrupt():
                outcome = self._run(
                    scenario, spec, experiment, objectives, run_id, folder.path.resolve(), request
                )
        finally:
            folder.remove_if_unused()  # a refusal leaves no empty run folder behind
        if self.interrupted_in_teardown:  # a suite stops here as for any other interrupt
            return dataclasses.replace(outcome, interrupted=True)
        return outcome

    def check_history(self) -> None:
        """Open the history before anything starts: a corrupt, foreign, newer or unreachable
        one is bad input now, not a drill recorded nowhere (the gate could never judge it)."""
        try:
            with History(self.settings.history_location):
                pass
        except InputError as exc:
            raise InputError(f"{exc}; nothing was run") from None

    def _run(
        self,
        scenario: Scenario,
        spec: TargetSpec,
        experiment: dict[str, Any],
        objectives: ObjectiveTargets,
        run_id: str,
        run_dir: Path,
        request: RunRequest,
    ) -> RunOutcome:
        opened = contextlib.ExitStack()  # the target: closed (a fresh sandbox removed) at the end
        try:
            key, target = opened.enter_context(
                registry.registered_target(
                    spec, say=self.say, allow_production=request.allow_production
                )
            )
            lifecycle = DrillLifecycle(
                target, self.settings, objectives, run_id=run_id, run_dir=run_dir
            )
            lifecycle.lock()
            try:
                lifecycle.preflight()
                # A fresh sandbox lives in a new temp dir each time; its history is one series.
                name = spec.text if spec.kind is SpecKind.FRESH_SANDBOX else target.name
                return self._measure(
                    lifecycle, scenario, experiment, key, name, request.chaos, request.invocation
                )
            finally:
                lifecycle.release()
        except KeyboardInterrupt:  # a suite stops here too: the person wants it all to end
            return RunOutcome(
                ExitCode.ABORTED,
                run_dir,
                None,
                "interrupted before the fault; nothing injected",
                interrupted=True,
            )
        finally:
            # A Ctrl-C now (often the impatient second one) must not cut the teardown short and
            # leave servers or the sandbox's folder behind: noted, and honoured once done.
            with deferred_interrupts() as received:
                opened.close()
            if received:
                self.interrupted_in_teardown = True

    def _measure(
        self,
        lifecycle: DrillLifecycle,
        scenario: Scenario,
        experiment: dict[str, Any],
        key: str,
        target_name: str,
        chaos: ChaosOptions,
        invocation: str | None = None,
    ) -> RunOutcome:
        target = lifecycle.target
        session = lifecycle.start()
        progress = DrillProgress(
            scenario.title,
            session.view,
            session.canary.counters if session.canary else None,
            console=self.console,
        )
        experiment.setdefault("configuration", {})[registry.CONFIG_KEY] = key
        journal: dict[str, Any] = {}
        aborted_reason: str | None = None
        control.attach(session)
        progress.start()
        interrupted = False
        try:
            lifecycle.baseline()
            with chaostoolkit_log(lifecycle.run_dir):
                journal = run_like_chaos(experiment, chaos, {registry.CONFIG_KEY: key})
        except KeyboardInterrupt:  # outside Chaos Toolkit's own handling: before the experiment
            interrupted = True
            aborted_reason = "interrupted (Ctrl-C or SIGTERM) before the experiment ran"
        except BaseException:
            progress.stop()
            control.detach()
            lifecycle.abandon()
            raise
        lifecycle.experiment_ended()
        control.detach()
        if not interrupted:
            aborted_reason = lifecycle.observe_after()
            interrupted = aborted_reason is not None
        progress.stop()
        if (
            not lifecycle.watchdog_fired
            and aborted_reason is None
            and journal.get("status") == "interrupted"
        ):
            interrupted = True
        conclusion = lifecycle.finish(
            journal,
            drill=DrillRef(scenario.key, scenario.title, str(scenario.path)),
            target=TargetRef(target_name, target.kind, target.control_plane_url),
            aborted_reason=aborted_reason,
            invocation_id=invocation,
            say=self.say,
        )
        interrupted = interrupted or lifecycle.interrupted_while_finishing
        result = conclusion.result
        code = exit_code_for(result.verdict)
        if conclusion.unwritten:
            code = ExitCode.UNRECORDED
        elif conclusion.unrecorded:  # the history failed under the run: bad input, folder kept
            code = ExitCode.USAGE
        return RunOutcome(code, lifecycle.run_dir, conclusion, result.verdict_reason, interrupted)
