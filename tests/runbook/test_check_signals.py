"""SIGKILL of a real `drills runbook check`: the fresh sandbox it started goes away all the same.

`drills runbook check` without a target starts a sandbox of its own, as `drills run` does; it
used to start it without the warden that tears a fresh sandbox down when its harness dies, so a
killed check left every server it had started running. The test finds the sandbox under the
child's own temp folder, so it needs none of the harness's words to know when to kill it.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from drills.targets.sandbox.stack import Sandbox
from drills.targets.sandbox.state import Component, Layout, load_state
from drills.targets.sandbox.warden import FRESH_PREFIX
from tests.runbook.conftest import RUNBOOK
from tests.sandbox.harness import Footprint, LiveRun

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GONE_WITHIN_SECONDS = 60.0  # the warden's whole teardown, on a busy 2-core machine


@contextlib.contextmanager
def private_tmpdir() -> Iterator[Path]:
    """A temp folder for the child alone (its TMPDIR), reachable by PostgreSQL's own user."""
    path = Path(tempfile.mkdtemp(prefix="drills-check-"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        for root in path.glob(f"{FRESH_PREFIX}*"):  # whatever a failing test left running
            with contextlib.suppress(Exception):
                Sandbox(root).down(purge=True)
        shutil.rmtree(path, ignore_errors=True)


def first_server_running(parent: Path, timeout_seconds: float = 90.0) -> Path:
    """The fresh sandbox's folder under `parent`, once its first server (PostgreSQL) runs."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        for root in parent.glob(f"{FRESH_PREFIX}*"):
            with contextlib.suppress(Exception):  # not written yet, or mid-write
                state = load_state(Layout(root))
                if state is not None and any(
                    ref.alive() for ref in state.components[Component.POSTGRES].processes
                ):
                    return root
        time.sleep(0.05)
    raise AssertionError(f"no fresh sandbox with a running PostgreSQL under {parent}")


def gone(footprint: Footprint, state_dir: Path, timeout_seconds: float) -> bool:
    """True once no process of the footprint runs, none of its ports listens, the folder is gone."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if not footprint.alive() and not footprint.listening() and not state_dir.exists():
            return True
        time.sleep(0.1)
    return False


def test_sigkill_of_a_runbook_check_leaves_no_process_and_no_port(tmp_path: Path) -> None:
    with private_tmpdir() as tmpdir:
        run = LiveRun(
            "runbook", "check", str(RUNBOOK), home=tmp_path / "home", env={"TMPDIR": str(tmpdir)}
        )
        footprint: Footprint | None = None
        try:
            state_dir = first_server_running(tmpdir)  # the check is inside `sandbox up`
            footprint = run.footprint()
            assert footprint.ports, "no server of the sandbox listened yet"
            run.signal(signal.SIGKILL)
            run.wait()
            assert gone(footprint, state_dir, GONE_WITHIN_SECONDS), (
                f"left behind: processes {footprint.alive()}, ports {footprint.listening()}, "
                f"folder {state_dir.exists()}"
            )
        finally:
            run.kill()
            if footprint is not None:
                for pid in footprint.alive():
                    with contextlib.suppress(psutil.Error):
                        psutil.Process(pid).kill()
