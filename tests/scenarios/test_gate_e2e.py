"""The gate end to end on a real sandbox: `drills run --repeat 3` then `drills gate` passes; the
same drill made slower on purpose (a pause before the recovery) fails it, saying why."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from drills.catalog import EXPERIMENTS_DIR
from drills.errors import ExitCode
from drills.history import History
from drills.targets.sandbox.driver import SandboxTarget
from tests.drills_process import run_drills
from tests.sandbox.harness import LiveRun
from tests.scenarios.recovery_checks import settle

pytestmark = [pytest.mark.integration, pytest.mark.slow]


SLOWER_BY_SECONDS = 8


def drills(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    quick = {"DRILLS_BASELINE": "0.5", "DRILLS_OBSERVE_AFTER": "0.5"}
    return run_drills(*args, home=home, env=quick, inherit=True, timeout=600)


def slower_copy(tmp_path: Path) -> Path:
    """complete-outage with a pause between the crash and the first recovery step."""
    experiment = yaml.safe_load((EXPERIMENTS_DIR / "complete-outage.yaml").read_text())
    fault = experiment["method"][0]
    assert "fault" in fault["tags"]
    fault["pauses"] = {"after": 1 + SLOWER_BY_SECONDS}
    path = tmp_path / "slow-outage.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    return path


def test_repeat_then_gate_passes_and_a_slower_drill_fails(
    sandbox_target: SandboxTarget, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    target = f"sandbox:{sandbox_target.sandbox.layout.root}"
    settle(sandbox_target)  # the shared sandbox, whole again after earlier tests' faults
    run = ["run", "complete-outage", "--repeat", "3", "--target", target]
    done = drills(home, *run, "--invocation", "github-7-1")  # as the emitted pipeline names it
    assert done.returncode == ExitCode.MET, done.stdout + done.stderr[-2000:]
    assert "3 runs of one invocation" in done.stdout and "median" in done.stdout
    with History(home / "history.sqlite") as history:
        runs = history.latest_invocation("complete-outage")
    assert len(runs) == 3 and {r.invocation_id for r in runs} == {"github-7-1"}
    assert all(r.rto_seconds is not None for r in runs)
    # from the second run on, each report says where the run sits against its history
    notes = json.loads((home / "runs" / runs[-1].run_id / "report.json").read_text())["notes"]
    assert any(n.startswith("against its history: RTO") for n in notes), notes

    gate = drills(home, "gate")
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "complete-outage on sandbox: 3 new run(s)" in gate.stdout
    assert drills(home, "gate", "--invocation", "github-7-1").stdout == gate.stdout
    assert "PASS (objectives only: no baseline yet) complete-outage on sandbox" in gate.stdout

    # The slower copy is its own scenario (identified by its path). Its baseline: the three
    # real runs above, recorded again under its key as 7 runs (seeded, to keep this test short:
    # with 3 new runs the exact test needs 7 baseline runs to reach p < 1 %).
    slow = slower_copy(tmp_path)
    with History(home / "history.sqlite") as history:
        seeded = [
            replace(run, run_id=f"seed-{i}", scenario=str(slow), invocation_id="seed").row()
            for i, run in enumerate(runs * 3)
        ][:7]
        history.insert_rows(seeded)
    done = drills(home, "run", str(slow), "--repeat", "3", "--target", target)
    assert done.returncode == ExitCode.MET, (
        done.stdout + done.stderr[-2000:]
    )  # objectives still met
    gate = drills(home, "gate", str(slow))
    assert gate.returncode == ExitCode.MISSED, gate.stdout + gate.stderr
    assert f"FAIL {slow} on sandbox" in gate.stdout
    assert "RTO: regression: median" in gate.stdout
    assert "p = 0.00833 <= alpha 0.01" in gate.stdout  # 1 / C(10, 3): all three slower
    gate = drills(home, "gate", "complete-outage")  # the original is unaffected
    assert gate.returncode == 0, gate.stdout


def test_sigterm_before_the_fault_ends_the_series(tmp_path: Path) -> None:
    """Interrupted while run 1 starts its fresh sandbox: nothing injected, no run 2 started."""
    run = LiveRun("run", "complete-outage", "--repeat", "3", home=tmp_path / "home")
    try:
        run.wait_for("Starting a fresh sandbox", timeout_seconds=60)
        time.sleep(1.0)
        run.signal(signal.SIGTERM)
        code = run.wait(timeout_seconds=120)
    finally:
        run.kill()
    stderr = "\n".join(run.lines)
    assert code == ExitCode.ABORTED, stderr[-2000:]
    assert "Run 1/3" in stderr and "Run 2/3" not in stderr
    assert "interrupted: no further runs" in stderr
