"""A real `drills` command in a child process, for tests that signal or kill the harness.

`LiveRun` starts `python -m drills …` in its own session (signals from the test reach only it),
follows its stderr line by line, and can take a `Footprint`: every process it has started (its
descendants, servers in their own sessions included) and every port they listen on, so a test can
prove that none of them is left after the harness is gone.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.drills_process import ROOT, drills_environ, run_drills

_STATE_DIR = re.compile(r"Starting a fresh sandbox in (\S+) \.\.\.")


def drills_command(
    *args: str, home: Path, timeout_seconds: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run one `drills` command to its end (output captured)."""
    return run_drills(*args, home=home, inherit=True, timeout=timeout_seconds)


@dataclass(frozen=True)
class Footprint:
    """What a harness had running at one moment: processes (pid, start time) and listening ports."""

    processes: frozenset[tuple[int, float]]
    ports: frozenset[int]

    def alive(self) -> list[int]:
        """Pids of those processes still running (a zombie is dead)."""
        found = []
        for pid, created in self.processes:
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                if (
                    abs(proc.create_time() - created) < 1.0
                    and proc.status() != psutil.STATUS_ZOMBIE
                ):
                    found.append(pid)
        return sorted(found)

    def listening(self) -> list[int]:
        """Those ports something still listens on (on any address)."""
        busy = {
            conn.laddr.port
            for conn in psutil.net_connections(kind="tcp")
            if conn.status == psutil.CONN_LISTEN and conn.laddr
        }
        return sorted(self.ports & busy)


class LiveRun:
    """One `drills` command running in the background."""

    def __init__(self, *args: str, home: Path, env: dict[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "drills", *args],
            cwd=ROOT,
            env=drills_environ(home, env, inherit=True),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str, timeout_seconds: float = 90.0) -> str:
        """The first stderr line (from now on, or already seen) containing `text`."""
        for line in self.lines:
            if text in line:
                return line
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} on stderr; got:\n" + "\n".join(self.lines[-30:]))

    @property
    def state_dir(self) -> Path:
        match = _STATE_DIR.search(self.wait_for("Starting a fresh sandbox in"))
        assert match is not None
        return Path(match.group(1))

    def footprint(self) -> Footprint:
        """Every process the harness started (recursively) and the ports they listen on."""
        root = psutil.Process(self.proc.pid)
        processes: set[tuple[int, float]] = set()
        ports: set[int] = set()
        for proc in root.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                processes.add((proc.pid, proc.create_time()))
                for conn in proc.net_connections(kind="tcp"):
                    if conn.status == psutil.CONN_LISTEN and conn.laddr:
                        ports.add(conn.laddr.port)
        return Footprint(frozenset(processes), frozenset(ports))

    def signal(self, signum: int) -> None:
        os.kill(self.proc.pid, signum)

    def wait(self, timeout_seconds: float = 120.0) -> int:
        code = self.proc.wait(timeout=timeout_seconds)
        self._reader.join(timeout=5.0)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return code

    def kill(self) -> None:
        """Make sure the harness itself is gone (test teardown)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
