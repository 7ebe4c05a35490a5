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

from tests.sandbox.harness import Footprint, LiveRun, drills_command

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


def _gone(footprint: Footprint, timeout_seconds: float) -> list[int]:
    """Pids of the footprint still alive after up to `timeout_seconds`."""
    deadline = time.monotonic() + timeout_seconds
    while footprint.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    return footprint.alive()


def _warden_of(run: LiveRun) -> psutil.Process:
    """The warden the harness posted over its fresh sandbox."""
    for child in psutil.Process(run.proc.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "drills.targets.sandbox.warden" in " ".join(child.cmdline()):
                return child
    raise AssertionError("the harness has no warden")


def _kill_then_next_command(
    run: LiveRun, footprints: list[Footprint], home: Path, with_warden: bool = False
) -> str:
    """SIGKILL the harness (the one signal it cannot catch), and with `with_warden` its warden
    too, then run the next command; what that command said on stderr."""
    footprints.append(run.footprint())
    warden = _warden_of(run) if with_warden else None
    run.signal(signal.SIGKILL)
    if warden is not None:
        warden.kill()
    run.wait()
    return drills_command(
        "sandbox", "status", "--state-dir", str(home / "unrelated"), home=home
    ).stderr


@pytest.mark.parametrize(
    "moment", ["0.3 s after the fault", "during sandbox up", "0.3 s after the fault, warden too"]
)
def test_sigkill_of_the_harness_leaves_no_process_and_no_port(tmp_path: Path, moment: str) -> None:
    home = tmp_path / "home"
    run = LiveRun("run", "complete-outage", "--out", str(tmp_path / "run"), home=home)
    footprints: list[Footprint] = []
    with cleaned(run, footprints):
        state_dir = run.state_dir
        try:
            if moment == "during sandbox up":
                run.wait_for("postgres-standby ready")
            else:
                run.wait_for("fault and recovery")
                time.sleep(0.3)
            with_warden = moment.endswith("warden too")
            said = _kill_then_next_command(run, footprints, home, with_warden)
            if with_warden:  # nobody but the next command's sweep was left to tear it down
                assert f"removed a fresh sandbox whose harness had died: {state_dir}" in said
            (footprint,) = footprints
            assert footprint.processes, "the harness had started nothing yet"
            # every server and the proxy are gone once the next command has returned ...
            assert footprint.listening() == []
            assert not state_dir.exists()
            # ... and the little warden that tore them down exits right after
            assert _gone(footprint, timeout_seconds=5.0) == []
        finally:
            shutil.rmtree(state_dir, ignore_errors=True)


def test_ctrl_c_before_the_fault_stops_a_suite(tmp_path: Path) -> None:
    """Ctrl-C while the first drill's sandbox starts ends the whole suite, not just that drill
    (the suite went on to its next drill and started another sandbox)."""
    run = LiveRun("run", "--suite", "quarterly", "--out", str(tmp_path / "runs"), home=tmp_path)
    footprints: list[Footprint] = []
    with cleaned(run, footprints):
        run.wait_for("Starting a fresh sandbox")
        footprints.append(run.footprint())
        run.signal(signal.SIGINT)
        code = run.wait()
        said = "\n".join(run.lines)
        assert "the suite stops here" in said, said
        assert said.count("Starting a fresh sandbox") == 1, said
        assert code == 3, said
        for footprint in footprints:
            assert _gone(footprint, 30.0) == []
