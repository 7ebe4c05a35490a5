"""A sandbox whose disk is full can still be stopped (issue 9).

A full disk is when the sandbox most needs to go, and on main `drills sandbox down` could not: it
crashed (exit 4) writing the drill lock's holder line, before it had stopped anything, and a
teardown that got past that stopped one component and crashed saving the state file, leaving the
rest running (a harness's warden and sweep use the same teardown). The disk here is real: a tmpfs
just large enough for a sandbox, filled once the sandbox is up (mounting needs root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from drills.targets.sandbox.stack import Sandbox
from drills.targets.sandbox.state import load_state
from tests.conftest import private_dir
from tests.sandbox.harness import drills_command
from tests.tmpfs import mounted_tmpfs

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 192 MiB tmpfs (a sandbox takes about 110 MiB) that PostgreSQL's user can reach."""
    path = private_dir("drills-test-small-disk-")
    try:
        with mounted_tmpfs(path, "size=192m,mode=0711"):
            yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _fill(disk: Path) -> Path:
    """Leave no free block on `disk`; the filler file, to remove again."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while os.write(fd, b"\0" * (1 << 20)):
                pass
        with contextlib.suppress(OSError):
            while os.write(fd, b"\0" * 4096):
                pass
    finally:
        os.close(fd)
    return filler


def test_down_on_a_full_disk_stops_every_process(small_disk: Path) -> None:
    box = Sandbox(small_disk / "box")
    filler: Path | None = None
    try:
        state = box.up()
        pids = [ref.pid for comp in state.components.values() for ref in comp.processes]
        assert pids
        filler = _fill(small_disk)
        done = drills_command(
            "sandbox", "down", "--state-dir", str(box.layout.root), home=small_disk / "home"
        )
        assert done.returncode == 0, done.stderr
        saved = load_state(box.layout)
        assert saved is not None
        alive = [ref.pid for comp in saved.components.values() for ref in comp.processes]
        alive += [ref.pid for comp in state.components.values() for ref in comp.processes]
        assert not [pid for pid in set(alive) if _running(pid)], done.stderr
        for port in state.ports.values():
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", port)) != 0, port
    finally:
        if filler is not None:
            filler.unlink()
        box.down(purge=True)


def _running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
