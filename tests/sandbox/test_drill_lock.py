"""`drills sandbox down`/`restart` do not pull a sandbox from under a running drill.

A real `drills run` holds the sandbox's drill lock; the two commands that would break it are
refused (exit 3: refused as unsafe, one line naming --force), the drill comes to a verdict and the
sandbox is whole afterwards. With --force they go ahead.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drills.targets.sandbox.stack import Sandbox
from tests.conftest import private_dir
from tests.drills_process import ROOT
from tests.sandbox.harness import LiveRun, drills_command

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _assert_refused(done: subprocess.CompletedProcess[str], command: str) -> None:
    assert done.returncode == 3, done.stderr
    # one error line, no traceback (the sweep may first say it removed another harness's orphan)
    said = [line for line in done.stderr.splitlines() if not line.startswith("removed a fresh")]
    assert len(said) == 1 and said[0].startswith("drills: error: "), done.stderr
    assert "drill" in done.stderr
    assert f"drills sandbox {command}" in done.stderr
    assert "--force" in done.stderr


def test_down_and_restart_are_refused_while_a_drill_runs(tmp_path: Path) -> None:
    state_dir = private_dir("drills-test-drilling-")
    box = Sandbox(state_dir)
    home = tmp_path / "home"
    run: LiveRun | None = None
    try:
        box.up()
        run = LiveRun(
            "run",
            "complete-outage",
            "--target",
            f"sandbox:{state_dir}",
            "--out",
            str(tmp_path / "run"),
            home=home,
            env={"DRILLS_BASELINE": "8"},  # time to try both commands before the fault
        )
        run.wait_for("measuring the steady-state baseline")
        down = drills_command("sandbox", "down", "--state-dir", str(state_dir), home=home)
        restart = drills_command(
            "sandbox", "restart", "postgres-standby", "--state-dir", str(state_dir), home=home
        )
        assert run.proc.poll() is None, "the drill ended before both commands were tried"
        _assert_refused(down, "down")
        _assert_refused(restart, "restart")
        # a verdict (met, or missed on a busy machine's latency), not aborted: nothing was pulled
        # away, and the standby the bug used to stop is still up afterwards (checked only now: on a
        # busy machine the two commands can take until the fault, which stops servers on purpose)
        assert run.wait() in (0, 1), "\n".join(run.lines[-20:])
        assert box.status()["running"]
        # and the sandbox's passwords are nowhere in what the drill wrote or printed
        secrets = json.loads(box.layout.state_file.read_text())["credentials"].values()
        written = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
        written += [p for p in box.layout.logs.rglob("*") if p.is_file()]
        assert any(p.name == "report.json" for p in written)
        for secret in secrets:
            assert secret and secret not in "\n".join(run.lines)
            for path in written:
                assert secret.encode() not in path.read_bytes(), path
    finally:
        if run is not None:
            run.kill()
        box.down(purge=True)


def test_force_overrides_the_drill_lock(tmp_path: Path) -> None:
    state_dir = private_dir("drills-test-force-")
    box = Sandbox(state_dir)
    home = tmp_path / "home"
    holder: subprocess.Popen[str] | None = None
    try:
        box.up()
        script = (
            "import sys, time; from pathlib import Path; "
            "from drills.targets.sandbox.driver import SandboxTarget\n"
            f"with SandboxTarget(Path({str(state_dir)!r})).drill_lock():\n"
            "    print('held', flush=True); time.sleep(120)\n"
        )
        holder = subprocess.Popen(
            [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        _assert_refused(
            drills_command("sandbox", "down", "--state-dir", str(state_dir), home=home), "down"
        )
        forced = drills_command(
            "sandbox", "down", "--force", "--state-dir", str(state_dir), home=home
        )
        assert forced.returncode == 0, forced.stderr
        assert not any(c["pids"] for c in box.status()["components"].values())
    finally:
        if holder is not None:
            holder.kill()
            holder.wait(timeout=10)
        box.down(purge=True)
