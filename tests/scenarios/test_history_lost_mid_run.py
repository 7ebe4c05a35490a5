"""A history that breaks while a drill runs: the run folder is kept and named, the verdict is said,
and `drills run` exits 2 (the gate will never see this run), never 0 as if it had been recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from drills.errors import ExitCode
from drills.history import History
from drills.targets.sandbox.driver import SandboxTarget
from tests.sandbox.harness import LiveRun
from tests.scenarios.recovery_checks import settle

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_history_corrupted_during_the_drill_keeps_the_run_folder_and_exits_2(
    sandbox_target: SandboxTarget, tmp_path: Path
) -> None:
    history = tmp_path / "history.sqlite"
    with History(history):
        pass  # a good history when the drill starts
    settle(sandbox_target)
    run = LiveRun(
        "run",
        "complete-outage",
        "--target",
        f"sandbox:{sandbox_target.sandbox.layout.root}",
        home=tmp_path / "home",
        env={
            "DRILLS_HISTORY": str(history),
            "DRILLS_BASELINE": "0.5",
            "DRILLS_OBSERVE_AFTER": "0.5",
        },
    )
    try:
        run.wait_for("fault and recovery", timeout_seconds=120)
        for leftover in (history.with_name(history.name + s) for s in ("-wal", "-shm")):
            leftover.unlink(missing_ok=True)
        history.write_bytes(b"garbage, not a database\n" * 300)  # the disk, a person, a bug
        code = run.wait(timeout_seconds=300)
    finally:
        run.kill()
    stderr = "\n".join(run.lines)
    assert code == ExitCode.USAGE, stderr[-3000:]
    last = [line for line in stderr.splitlines() if line.strip()][-1]
    assert last.startswith("drills: MET complete-outage"), last
    assert f"not recorded in history {history}" in last and "not a drills history" in last
    run_dirs = list((tmp_path / "home" / "runs").iterdir())
    assert len(run_dirs) == 1 and str(run_dirs[0]) in last
    assert {"report.json", "report.html", "journal.json"} <= {p.name for p in run_dirs[0].iterdir()}
