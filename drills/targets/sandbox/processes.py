"""Starting, tracking and killing the sandbox's server processes for real.

Processes are identified by pid *and* creation time (a recycled pid is never mistaken for ours) and
are never looked up by name. A crash is a real crash: every process of the tree is frozen with
SIGSTOP first (PostgreSQL backends call setsid(), so a process-group kill would leave them
acknowledging commits for a moment), then all get SIGKILL.

PostgreSQL refuses to run as root. When the harness is root, PostgreSQL's programs run as the
unprivileged `drills-sandbox` user through `setpriv`, keeping only CAP_DAC_READ_SEARCH so they can
traverse root-only parent directories (a clone under /root, pytest's temp dirs) to reach the
binaries and their own data directory, which that user owns.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import psutil

from drills.errors import ComponentError, SandboxError

SERVICE_USER = "drills-sandbox"
# Every process a sandbox starts carries its state directory in this environment variable (and
# passes it on to its own children, PostgreSQL's backends included), so a sweep can find a server
# even in the instant between its start and its pid reaching the state file.
LABEL_ENV = "DRILLS_SANDBOX_OF"


@dataclass(frozen=True)
class ProcessRef:
    """A process we started: pid plus creation time, so a recycled pid is never ours."""

    pid: int
    create_time: float

    def to_json(self) -> dict[str, float | int]:
        return {"pid": self.pid, "create_time": self.create_time}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ProcessRef:
        return cls(pid=int(str(data["pid"])), create_time=float(str(data["create_time"])))

    def process(self) -> psutil.Process | None:
        """The live process, or None when it is gone (or only a zombie)."""
        try:
            proc = psutil.Process(self.pid)
            # psutil derives start times from the boot time, which moves when the wall clock is
            # stepped (NTP); a second of slack still rules out a recycled pid
            if abs(proc.create_time() - self.create_time) > 1.0:
                return None
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return proc
        except psutil.Error:
            return None

    def alive(self) -> bool:
        return self.process() is not None


@dataclass(frozen=True)
class RunAs:
    """The unprivileged identity PostgreSQL's programs run under when we are root."""

    user: str
    uid: int
    gid: int
    use_setpriv: bool

    def wrap(self, argv: Sequence[str]) -> list[str]:
        if not self.use_setpriv:
            return list(argv)
        return [
            "setpriv",
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            "--clear-groups",
            "--inh-caps=+dac_read_search",
            "--ambient-caps=+dac_read_search",
            *argv,
        ]

    def popen_kwargs(self) -> dict[str, object]:
        """Without setpriv, fall back to subprocess's own user switch."""
        if self.use_setpriv:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def chown(self, path: Path) -> None:
        os.chown(path, self.uid, self.gid)


@cache
def postgres_identity() -> RunAs | None:
    """None when we are not root (PostgreSQL runs as us); else the service user, created if needed."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        useradd = shutil.which("useradd")
        if useradd is None:
            raise SandboxError(
                f"running as root, PostgreSQL needs an unprivileged user; create '{SERVICE_USER}' "
                "(useradd is not available here)"
            ) from None
        subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(SERVICE_USER)
    use_setpriv = _setpriv_works(entry.pw_uid, entry.pw_gid)
    return RunAs(SERVICE_USER, entry.pw_uid, entry.pw_gid, use_setpriv)


def _setpriv_works(uid: int, gid: int) -> bool:
    if shutil.which("setpriv") is None:
        return False
    probe = RunAs(SERVICE_USER, uid, gid, use_setpriv=True).wrap(["true"])
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


class Supervisor:
    """Spawns server processes detached from the terminal and reaps the ones it spawned.

    Processes started through one Supervisor are its children and get reaped on kill, so a
    restarted server never waits for PID 1 to collect a zombie. Processes started by another
    harness (an earlier `drills sandbox up`) are killed by pid and creation time all the same.
    """

    def __init__(self, label: str | None = None) -> None:
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self.label = label  # put into every child's environment as LABEL_ENV (see `labelled`)

    def spawn(
        self,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        run_as: RunAs | None = None,
        cwd: Path | None = None,
    ) -> ProcessRef:
        command = run_as.wrap(argv) if run_as else list(argv)
        extra = run_as.popen_kwargs() if run_as else {}
        if self.label is not None:  # the children's environment, not a setting of ours
            env = {**(env if env is not None else os.environ), LABEL_ENV: self.label}
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            try:
                child = subprocess.Popen(  # type: ignore[call-overload]
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env=dict(env) if env is not None else None,
                    cwd=cwd,
                    close_fds=True,
                    **extra,
                )
            except OSError as exc:
                raise ComponentError(f"cannot start {argv[0]}: {exc}") from exc
        self._children[child.pid] = child
        try:
            created = psutil.Process(child.pid).create_time()
        except psutil.Error as exc:
            raise ComponentError(f"{Path(argv[0]).name} exited at once; see {log_path}") from exc
        return ProcessRef(child.pid, created)

    def exited(self, ref: ProcessRef) -> int | None:
        """Exit code of a child we spawned that has ended, else None."""
        child = self._children.get(ref.pid)
        if child is None:
            return None
        return child.poll()

    def reap(self, refs: Iterable[ProcessRef], timeout_seconds: float = 5.0) -> None:
        """Wait for the given processes to be gone, collecting the ones that are our children."""
        deadline = time.monotonic() + timeout_seconds
        for ref in refs:
            child = self._children.pop(ref.pid, None)
            if child is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=max(0.0, deadline - time.monotonic()))
                continue
            while ref.alive() and time.monotonic() < deadline:
                time.sleep(0.01)

    def crash(self, refs: Iterable[ProcessRef]) -> list[int]:
        """SIGSTOP every process of every tree, then SIGKILL them all; reap ours. Returns pids."""
        victims: list[psutil.Process] = []
        for ref in refs:
            proc = ref.process()
            if proc is None:
                continue
            with contextlib.suppress(psutil.Error):
                victims.extend([proc, *proc.children(recursive=True)])
        for proc in victims:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGSTOP)
        for proc in victims:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGKILL)
        self.reap([ProcessRef(p.pid, 0.0) for p in victims if p.pid in self._children], 5.0)
        _wait_dead(victims, timeout_seconds=5.0)
        return [p.pid for p in victims]

    def freeze(self, refs: Iterable[ProcessRef]) -> list[int]:
        """SIGSTOP every process of every tree (a hang: sockets stay open). Returns pids."""
        return _signal_trees(refs, signal.SIGSTOP)

    def thaw(self, refs: Iterable[ProcessRef]) -> list[int]:
        """SIGCONT every process of every tree. Returns pids."""
        return _signal_trees(refs, signal.SIGCONT)

    def terminate(
        self, refs: Sequence[ProcessRef], sig: int = signal.SIGTERM, timeout_seconds: float = 15.0
    ) -> None:
        """Ask politely, wait, then crash whatever is left of the trees."""
        live = [ref for ref in refs if ref.alive()]
        for ref in live:
            with contextlib.suppress(OSError):
                os.kill(ref.pid, sig)
        deadline = time.monotonic() + timeout_seconds
        for ref in live:
            child = self._children.get(ref.pid)
            while ref.alive() and time.monotonic() < deadline:
                if child is not None and child.poll() is not None:
                    break
                time.sleep(0.02)
        leftovers = [ref for ref in live if ref.alive()]
        if leftovers:
            self.crash(leftovers)
        self.reap(live, 2.0)


def labelled(label: str) -> list[psutil.Process]:
    """Live processes whose environment carries `label` (a sandbox's, see `LABEL_ENV`).

    Another user's processes are unreadable unless we are root; the sandbox's never are: they run
    as us, or as the service user when we are root.
    """
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if proc.environ().get(LABEL_ENV) == label and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
    return found


def crash_labelled(label: str) -> list[int]:
    """SIGSTOP then SIGKILL every live process carrying `label`; returns their pids."""
    victims = labelled(label)
    for proc in victims:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGSTOP)
    for proc in victims:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGKILL)
    _wait_dead(victims, timeout_seconds=5.0)
    return [proc.pid for proc in victims]


def _wait_dead(procs: Iterable[psutil.Process], timeout_seconds: float) -> None:
    """Until every process is gone or a zombie (dead, merely not yet collected by its parent)."""
    deadline = time.monotonic() + timeout_seconds
    pending = list(procs)
    while pending and time.monotonic() < deadline:
        still = []
        for proc in pending:
            try:
                if proc.status() != psutil.STATUS_ZOMBIE:
                    still.append(proc)
            except psutil.Error:
                pass
        pending = still
        if pending:
            time.sleep(0.005)


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file ('' when there is none)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def _signal_trees(refs: Iterable[ProcessRef], sig: int) -> list[int]:
    signalled: list[int] = []
    for ref in refs:
        proc = ref.process()
        if proc is None:
            continue
        with contextlib.suppress(psutil.Error):
            for member in [proc, *proc.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    member.send_signal(sig)
                    signalled.append(member.pid)
    return signalled
