"""A fresh sandbox dies with the harness that started it, even when the harness is SIGKILLed.

A `drills run`, `drills train start` or `drills runbook check` without a target starts a sandbox of
its own in a temp directory and stops it at the end (`fresh.py`); SIGKILL (the OOM killer, a CI runner's timeout, `kill -9`) is the one way to end it that no
handler sees. Two layers make sure its servers do not outlive it:

- **the warden**: a small process started with the sandbox, in its own session (a Ctrl-C to the
  harness's terminal does not reach it), that waits on the harness through a pidfd (the kernel
  wakes it when that process is gone, whatever killed it) and then runs `Sandbox.down(purge=True)`.
  It exits on its own once the harness has removed the sandbox normally.
- **the sweep**: every `drills run` and `drills sandbox` command first removes fresh sandboxes
  whose owner (pid and start time, in `owner.json`) is gone, in case the warden was killed too.

Why not PR_SET_PDEATHSIG on every server: it fires when the spawning *thread* ends (a restart done
from a worker thread would kill the restarted server later), it is cleared when setpriv switches
PostgreSQL to its unprivileged user, and PostgreSQL's backends and pg_basebackup's helpers would
not inherit it; and a killed server is not a torn-down sandbox (the temp folder would stay).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from drills.targets.sandbox.processes import ProcessRef
from drills.targets.sandbox.state import OWNER_FILE

__all__ = ["FRESH_PREFIX", "OWNER_FILE", "Warden", "claim", "sweep_orphans"]

log = logging.getLogger(__name__)

FRESH_PREFIX = "drills-sandbox-"
POLL_SECONDS = 0.5


def _me() -> ProcessRef:
    import psutil

    return ProcessRef(os.getpid(), psutil.Process().create_time())


def claim(root: Path) -> ProcessRef:
    """Record this process as the owner of the fresh sandbox in `root` (0600, atomic)."""
    owner = _me()
    tmp = root / f".{OWNER_FILE}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(owner.to_json(), handle)
    tmp.replace(root / OWNER_FILE)
    return owner


def owner_of(root: Path) -> ProcessRef | None:
    """The recorded owner, None when there is none (not a fresh sandbox, or already removed)."""
    try:
        return ProcessRef.from_json(json.loads((root / OWNER_FILE).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _tear_down(root: Path) -> None:
    from drills.targets.sandbox.stack import Sandbox

    Sandbox(root).down(purge=True)


def sweep_orphans(parent: Path | None = None) -> list[Path]:
    """Tear down every fresh sandbox under `parent` (the temp dir) whose owner is gone."""
    swept = []
    base = parent or Path(tempfile.gettempdir())
    for root in sorted(base.glob(f"{FRESH_PREFIX}*")):
        owner = owner_of(root)
        if owner is None or owner.alive():
            continue
        try:
            _tear_down(root)
        except Exception as exc:  # one broken leftover must not block the command
            log.warning("could not remove the orphaned sandbox %s: %s", root, exc)
            continue
        swept.append(root)
    return swept


class Warden:
    """The warden process of one fresh sandbox, as seen by its harness."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._child: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Claim the sandbox for this process and post a warden over it."""
        owner = claim(self.root)
        log_path = self.root / "logs" / "warden.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log_file:
            self._child = subprocess.Popen(
                [sys.executable, "-m", __name__, str(self.root), str(owner.pid)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )

    def dismiss(self, timeout_seconds: float = 5.0) -> None:
        """After a normal teardown: the sandbox is gone, so is the warden's job."""
        child = self._child
        if child is None:
            return
        if self.root.exists():
            return  # the teardown failed: it stays, and finishes the job when we exit
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=timeout_seconds)
        self._child = None


def _wait_for_owner(root: Path, owner: ProcessRef) -> bool:
    """Block until the owner is gone (True) or the sandbox was removed normally (False)."""
    try:
        pidfd = os.pidfd_open(owner.pid)
    except ProcessLookupError:
        return True
    try:
        if not owner.alive():  # the pid was recycled before we opened it
            return True
        while (root / OWNER_FILE).exists():
            ready, _, _ = select.select([pidfd], [], [], POLL_SECONDS)
            if ready:
                return True
        return False
    finally:
        os.close(pidfd)


def main(argv: list[str]) -> int:
    root, pid = Path(argv[0]), int(argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the harness's fate decides
    owner = owner_of(root)
    if owner is None or owner.pid != pid:
        return 0
    if not _wait_for_owner(root, owner):
        return 0
    if owner_of(root) != owner:
        return 0  # removed meanwhile
    print(f"owner {owner.pid} is gone; tearing down {root}", flush=True)
    _tear_down(root)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
