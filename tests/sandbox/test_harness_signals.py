"""Signals to a real `drills run`: whatever happens to the harness, its fresh sandbox goes away.

Each test runs `python -m drills run complete-outage` in a child process, interrupts or kills it at
a chosen moment, and checks that no process it started and no port they listened on is left.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.sandbox.harness import Footprint, LiveRun

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@contextlib.contextmanager
def cleaned(run: LiveRun, footprints: list[Footprint]) -> Iterator[None]:
    """Whatever the test concludes, leave nothing running (a failing test must not leak)."""
    try:
        yield
    finally:
        run.kill()
        for footprint in footprints:
            for pid in footprint.alive():
                with contextlib.suppress(psutil.Error):
                    psutil.Process(pid).kill()


def test_second_ctrl_c_still_tears_down_and_removes_the_fresh_sandbox(tmp_path: Path) -> None:
    run = LiveRun("run", "complete-outage", "--out", str(tmp_path / "run"), home=tmp_path / "home")
    footprints: list[Footprint] = []
    with cleaned(run, footprints):
        state_dir = run.state_dir
        try:
            run.wait_for("fault and recovery")
            footprints.append(run.footprint())
            run.signal(signal.SIGINT)
            run.wait_for("Stopping the sandbox")
            footprints.append(run.footprint())
            run.signal(signal.SIGINT)  # the impatient second Ctrl-C, during the teardown
            time.sleep(0.3)
            if run.proc.poll() is None:
                run.signal(signal.SIGINT)  # and a third
            code = run.wait()
            # at the harness's exit, not later: nobody else is expected to finish its job
            assert not state_dir.exists(), "\n".join(run.lines[-20:])
        finally:
            shutil.rmtree(state_dir, ignore_errors=True)
        assert code == 3, "\n".join(run.lines[-20:])
        for footprint in footprints:
            assert footprint.alive() == []
            assert footprint.listening() == []
