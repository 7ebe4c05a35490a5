"""Anyone's Chaos Toolkit experiment, run by `drills run` the way `chaos run` runs it.

The experiments under `experiments/conformance/` have the shapes teams bring: no activity tagged
`fault`, runtime strategies, a hypothesis that deviates. Each runs for real against one sandbox,
under `drills run` and, where the comparison matters, under plain `chaos run` too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drills.chaosrun import ChaosOptions
from drills.errors import ExitCode
from drills.runner import Runner, RunOutcome, RunRequest
from drills.settings import Settings
from drills.targets.sandbox.driver import SandboxTarget
from tests.scenarios.recovery_checks import settle

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HERE = Path(__file__).parent / "experiments" / "conformance"


@pytest.fixture
def quick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox_target: SandboxTarget
) -> Iterator[Path]:
    """Short baseline and aftermath: these tests are about what runs, not about long series.
    The shared sandbox is whole before each test and left whole after it."""
    monkeypatch.setenv("DRILLS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DRILLS_BASELINE", "1")
    monkeypatch.setenv("DRILLS_OBSERVE_AFTER", "1.5")
    settle(sandbox_target)
    yield tmp_path
    settle(sandbox_target)


def drill(
    name: str, target: SandboxTarget, out: Path, **request: Any
) -> tuple[RunOutcome, dict[str, Any], dict[str, Any]]:
    spec = f"sandbox:{target.sandbox.layout.root}"
    outcome = Runner(Settings.from_environ()).run(
        RunRequest(str(HERE / name), target=spec, out=out, **request)
    )
    report = json.loads((out / "report.json").read_text())
    journal = json.loads((out / "journal.json").read_text())
    return outcome, report, journal


def chaos_run(
    name: str, target: SandboxTarget, tmp: Path, *flags: str
) -> tuple[int, dict[str, Any]]:
    """Plain `chaos run` of the same file; its exit code and journal."""
    journal_path = tmp / f"chaos-{Path(name).stem}-{len(list(tmp.glob('chaos-*')))}.json"
    env = {
        **os.environ,
        "DRILLS_TARGET": f"sandbox:{target.sandbox.layout.root}",
        "DRILLS_OUT": str(tmp / f"{journal_path.stem}-run"),
    }
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("chaos")),
            "--no-version-check",
            "--log-file",
            str(tmp / "chaos.log"),
            "run",
            "--journal-path",
            str(journal_path),
            *flags,
            str(HERE / name),
        ],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert journal_path.exists(), done.stderr[-2000:]
    return done.returncode, json.loads(journal_path.read_text())


def failures(journal: dict[str, Any]) -> list[str]:
    """Every activity that failed, with chaoslib's reason: what a mismatch of two journals needs."""
    runs = [*(journal.get("run") or []), *(journal.get("rollbacks") or [])]
    for stage in ("before", "after"):
        runs += ((journal.get("steady_states") or {}).get(stage) or {}).get("probes") or []
    return [
        f"{r['activity'].get('name')}: {r.get('exception') or r.get('output')}"
        for r in runs
        if r.get("status") == "failed" or r.get("tolerance_met") is False
    ]


def activities(journal: dict[str, Any]) -> list[tuple[str, str]]:
    """What ran, in order: (stage, activity name)."""
    ran: list[tuple[str, str]] = []
    states = journal.get("steady_states") or {}
    for stage in ("before",):
        for probe in (states.get(stage) or {}).get("probes") or []:
            ran.append((f"hypothesis-{stage}", probe["activity"]["name"]))
    ran += [("method", r["activity"]["name"]) for r in journal.get("run") or []]
    for probe in (states.get("after") or {}).get("probes") or []:
        ran.append(("hypothesis-after", probe["activity"]["name"]))
    ran += [("rollback", r["activity"]["name"]) for r in journal.get("rollbacks") or []]
    return ran


def test_an_untagged_fault_is_the_first_activity_and_is_measured(
    sandbox_target: SandboxTarget, quick: Path
) -> None:
    outcome, report, journal = drill("kill-redis.yaml", sandbox_target, quick / "run")
    assert outcome.exit_code == ExitCode.MET, report["verdict_reason"]
    m = report["measurements"]
    assert m["rto_seconds"] is not None and m["rto_seconds"] > 0
    assert m["time_to_detect_seconds"] is not None
    assert any("'kill-redis'" in note and "first activity" in note for note in report["notes"])
    drills_extension = [e for e in journal["extensions"] if e["name"] == "drills"][-1]
    assert drills_extension["verdict"] == "met"
    assert drills_extension["run_dir"] == str(quick / "run")


def test_a_named_fault_overrides_the_first_activity(
    sandbox_target: SandboxTarget, quick: Path
) -> None:
    outcome, report, _ = drill(
        "kill-redis.yaml", sandbox_target, quick / "run", fault="restart-redis"
    )
    # Redis is already down when the named "fault" starts: detection comes with its first check
    assert report["measurements"]["fault_at"] is not None
    assert any("'restart-redis'" in note and "--fault" in note for note in report["notes"])
    assert outcome.exit_code in (ExitCode.MET, ExitCode.MISSED, ExitCode.ABORTED)


def test_an_untagged_method_that_breaks_nothing_is_invalid_and_says_why(
    sandbox_target: SandboxTarget, quick: Path
) -> None:
    outcome, report, journal = drill("status-only.yaml", sandbox_target, quick / "run")
    assert outcome.exit_code == ExitCode.ABORTED
    assert report["verdict"] == "invalid"
    assert "'read-status'" in report["verdict_reason"]
    assert "first activity of the method" in report["verdict_reason"]
    assert journal["deviated"] is True  # so `chaos run` exits non-zero too
    code, chaos_journal = chaos_run("status-only.yaml", sandbox_target, quick)
    assert code != 0
    assert [e for e in chaos_journal["extensions"] if e["name"] == "drills"][-1]["verdict"] == (
        "invalid"
    )


def test_a_deviated_hypothesis_is_missed_under_both_routes(
    sandbox_target: SandboxTarget, quick: Path
) -> None:
    outcome, report, _ = drill("kill-redis-left-down.yaml", sandbox_target, quick / "run")
    assert outcome.exit_code == ExitCode.MISSED, report["verdict_reason"]
    assert "steady-state hypothesis after the method failed" in report["verdict_reason"]
    code, journal = chaos_run(
        "kill-redis-left-down.yaml", sandbox_target, quick, "--rollback-strategy", "always"
    )
    assert code == 1
    assert journal["deviated"] is True
    assert [e for e in journal["extensions"] if e["name"] == "drills"][-1]["verdict"] == "missed"


@pytest.mark.parametrize(
    "strategy", ["default", "before-method-only", "after-method-only", "during-method-only"]
)
def test_each_hypothesis_strategy_runs_what_chaos_run_runs(
    sandbox_target: SandboxTarget, quick: Path, strategy: str
) -> None:
    options = ChaosOptions(hypothesis_strategy=strategy, rollback_strategy="always")
    _, _, ours = drill("kill-redis.yaml", sandbox_target, quick / "run", chaos=options)
    _, theirs = chaos_run(
        "kill-redis.yaml",
        sandbox_target,
        quick,
        "--hypothesis-strategy",
        strategy,
        "--rollback-strategy",
        "always",
    )
    if strategy == "during-method-only":  # probes repeat at a pace: compare what is not paced
        assert [a for a in activities(ours) if a[0] != "hypothesis-after"] == [
            a for a in activities(theirs) if a[0] != "hypothesis-after"
        ]
    else:
        assert shape(ours) == shape(theirs)
    if not (deviated(ours) or deviated(theirs)):
        assert activities(ours) == activities(theirs)
        assert ours["status"] == theirs["status"]


def shape(journal: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The activities a route ran, with each hypothesis check as one step: chaoslib stops a check
    at its first failing probe, and the target (not the route) decides whether a probe fails - the
    service's /health can fail for a moment after Redis restarts on a busy machine."""
    steps: list[tuple[str, str | None]] = []
    for stage, name in activities(journal):
        step = (stage, None) if stage.startswith("hypothesis") else (stage, name)
        if not (steps and steps[-1] == step and step[1] is None):
            steps.append(step)
    return steps


def deviated(journal: dict[str, Any]) -> bool:
    """A hypothesis check failed (before, after, or any of the repeated checks during)."""
    checks: list[Any] = []
    for check in (journal.get("steady_states") or {}).values():
        checks.extend(check if isinstance(check, list) else [check])
    return any(not (check or {}).get("steady_state_met", True) for check in checks)


def test_the_experiments_own_rollback_strategy_is_honoured(
    sandbox_target: SandboxTarget, quick: Path, tmp_path: Path
) -> None:
    never = tmp_path / "never.yaml"
    text = (HERE / "status-only.yaml").read_text()
    never.write_text(text + "runtime:\n  rollbacks:\n    strategy: never\n")
    never.write_text(
        never.read_text()
        + "rollbacks:\n  - type: probe\n    name: should-not-run\n"
        + "    provider: {type: python, module: drills.probes.target, func: target_status}\n"
    )
    spec = f"sandbox:{sandbox_target.sandbox.layout.root}"
    out = quick / "never"
    Runner(Settings.from_environ()).run(RunRequest(str(never), target=spec, out=out))
    journal = json.loads((out / "journal.json").read_text())
    assert journal["rollbacks"] == []


SHAPES = sorted((HERE.parent / "shapes").glob("*.yaml"))
TOKEN = "s3cret-team-token"  # a test value: it must never reach a report


@pytest.mark.parametrize("experiment", SHAPES, ids=[p.stem for p in SHAPES])
def test_shapes_from_chaos_toolkit_run_the_same_under_both_routes(
    sandbox_target: SandboxTarget,
    quick: Path,
    monkeypatch: pytest.MonkeyPatch,
    experiment: Path,
) -> None:
    monkeypatch.setenv("DRILLS_SHAPES_TOKEN", TOKEN)
    monkeypatch.setenv("DRILLS_SHAPES_URL", sandbox_target.sandbox.control_plane_url)
    ours_log, theirs_log = quick / "ours-control.log", quick / "theirs-control.log"
    monkeypatch.setenv("DRILLS_SHAPES_CONTROL_LOG", str(ours_log))
    declares_runtime = "runtime:" in experiment.read_text()
    flags = () if declares_runtime else ("--rollback-strategy", "always")
    spec = f"sandbox:{sandbox_target.sandbox.layout.root}"
    out = quick / "run"
    Runner(Settings.from_environ()).run(RunRequest(str(experiment), target=spec, out=out))
    ours = json.loads((out / "journal.json").read_text())
    monkeypatch.setenv("DRILLS_SHAPES_CONTROL_LOG", str(theirs_log))
    _, theirs = chaos_run(f"../shapes/{experiment.name}", sandbox_target, quick, *flags)
    said = (out / "chaostoolkit.log").read_text()[-1500:]  # a probe that failed says why there
    assert activities(ours) == activities(theirs), [*failures(ours), *failures(theirs), said]
    assert (ours["status"], ours["steady_states"]["before"]["steady_state_met"]) == (
        theirs["status"],
        theirs["steady_states"]["before"]["steady_state_met"],
    )
    assert [r["status"] for r in ours["run"]] == [r["status"] for r in theirs["run"]]
    if experiment.stem == "controls":
        assert ours_log.read_text() == theirs_log.read_text() != ""
    for path in out.iterdir():  # secrets never reach the run folder
        assert TOKEN not in path.read_text(errors="replace"), path.name


def test_plain_chaos_run_exits_non_zero_when_an_objective_is_missed(
    sandbox_target: SandboxTarget, quick: Path, tmp_path: Path
) -> None:
    """A latency objective no server can meet: the drill is missed, so `chaos run` fails too.
    (Not an RTO one: a drill still down at twice its RTO objective is aborted, as under `drills
    run`.)"""
    profile = tmp_path / "strict.yaml"
    profile.write_text(
        f"kind: sandbox\nname: strict\nstate_dir: {sandbox_target.sandbox.layout.root}\n"
        "objectives: {p95_latency_seconds: 0.000001}\n"
    )
    measured = tmp_path / "kill-redis-measured.yaml"
    measured.write_text(
        (HERE / "kill-redis.yaml").read_text()
        + "controls:\n  - name: drills-measurement\n"
        + "    provider: {type: python, module: drills.control}\n"
    )
    out = tmp_path / "run"
    env = {**os.environ, "DRILLS_TARGET": str(profile), "DRILLS_OUT": str(out)}
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("chaos")),
            "--no-version-check",
            "--log-file",
            str(tmp_path / "chaos.log"),
            "run",
            "--journal-path",
            str(tmp_path / "journal.json"),
            "--rollback-strategy",
            "always",
            str(measured),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "missed", report["verdict_reason"]
    assert "p95" in report["verdict_reason"]
    assert done.returncode == 1
    log = (tmp_path / "chaos.log").read_text()
    assert "drills: verdict missed" in log and str(out) in log
