"""The sandbox's state directory: layout, the state file, free ports, and the operation lock.

One sandbox per state directory. Everything a later command needs to find, stop or restart the
sandbox is in `state.json` (ports, pids with creation times, replica count), written atomically, so a
crashed `up` or a killed harness can always be cleaned up by `down`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import json
import os
import random
import socket
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drills.errors import InputError, StateDirError, TargetBusyError
from drills.schema import check_document
from drills.targets.base import Component
from drills.targets.sandbox.credentials import Credentials
from drills.targets.sandbox.processes import ProcessRef

STATE_SCHEMA = "drills.sandbox/v1"
STATE_FILE = "state.json"
LOCK_FILE = ".lock"
OWNER_FILE = "owner.json"  # a fresh sandbox's owning harness (see warden.py)
DRILL_LOCK_FILE = "drill.lock"


@dataclass(frozen=True)
class Layout:
    """Where everything of one sandbox lives below its state directory."""

    root: Path

    @property
    def state_file(self) -> Path:
        return self.root / STATE_FILE

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def postgres_root(self) -> Path:
        return self.root / "postgres"

    @property
    def primary_data(self) -> Path:
        return self.postgres_root / "primary"

    @property
    def standby_data(self) -> Path:
        return self.postgres_root / "standby"

    @property
    def redis_data(self) -> Path:
        return self.root / "redis"

    @property
    def graph_data(self) -> Path:
        """The graph store's (`neo4j`'s) working directory: its AOF and RDB."""
        return self.root / "neo4j"

    @property
    def bucket(self) -> Path:
        """The "backup bucket": WAL archive, base backups, Redis and graph snapshots."""
        return self.root / "bucket"

    @property
    def wal_archive(self) -> Path:
        return self.bucket / "wal"

    @property
    def base_backups(self) -> Path:
        return self.bucket / "base"

    @property
    def redis_snapshots(self) -> Path:
        return self.bucket / "redis"

    @property
    def graph_snapshots(self) -> Path:
        return self.bucket / "neo4j"

    @property
    def passfile(self) -> Path:
        """libpq's password file for this sandbox's PostgreSQL (0600; see credentials.py)."""
        return self.root / "pgpass"

    @property
    def service_config(self) -> Path:
        return self.root / "service.json"

    @property
    def runtime_config(self) -> Path:
        return self.root / "runtime.json"

    def log(self, component: Component, replica: int | None = None) -> Path:
        suffix = "" if replica is None else f"-{replica}"
        return self.logs / f"{component.value}{suffix}.log"


@dataclass
class ComponentState:
    processes: list[ProcessRef] = field(default_factory=list)
    replicas: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"processes": [p.to_json() for p in self.processes], "replicas": self.replicas}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ComponentState:
        return cls(
            processes=[ProcessRef.from_json(p) for p in data.get("processes", [])],
            replicas=int(data.get("replicas", 1)),
        )


@dataclass
class SandboxState:
    """Mutable record of one sandbox; saved after every change."""

    sandbox_id: str
    created_at: str
    ports: dict[Component, int]
    components: dict[Component, ComponentState]
    credentials: Credentials = field(default_factory=Credentials)

    @classmethod
    def new(cls, ports: dict[Component, int]) -> SandboxState:
        return cls(
            sandbox_id=uuid.uuid4().hex[:12],
            created_at=datetime.now(UTC).isoformat(),
            ports=ports,
            components={c: ComponentState() for c in Component},
            credentials=Credentials.generate(),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": STATE_SCHEMA,
            "sandbox_id": self.sandbox_id,
            "created_at": self.created_at,
            "ports": {c.value: p for c, p in self.ports.items()},
            "components": {c.value: s.to_json() for c, s in self.components.items()},
            "credentials": self.credentials.to_json(),  # the file is 0600 (mkstemp)
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SandboxState:
        if data.get("schema") != STATE_SCHEMA:
            raise ValueError(f"schema is {data.get('schema')!r}, expected {STATE_SCHEMA!r}")
        ports = {Component(k): int(v) for k, v in data["ports"].items()}
        for component in Component:
            while component not in ports:  # added to drills after this sandbox was made
                port = free_port()
                if port not in ports.values():
                    ports[component] = port
        components = {
            Component(k): ComponentState.from_json(v) for k, v in data["components"].items()
        }
        return cls(
            sandbox_id=str(data["sandbox_id"]),
            created_at=str(data["created_at"]),
            ports=ports,
            components={c: components.get(c, ComponentState()) for c in Component},
            credentials=Credentials.from_json(data.get("credentials")),
        )


# Components added after a sandbox may have been made: a state file without them is still good,
# and `from_json` gives them a port of their own.
ADDED_LATER = frozenset({Component.MONITORING, Component.NEO4J})
_REQUIRED = [c.value for c in Component if c not in ADDED_LATER]

_PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
_PROCESS = {
    "type": "object",
    "required": ["pid", "create_time"],
    "properties": {
        "pid": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        "create_time": {"type": "number", "minimum": 0},
    },
}
_COMPONENT = {
    "type": "object",
    "properties": {
        "processes": {"type": "array", "items": _PROCESS},
        "replicas": {"type": "integer", "minimum": 0, "maximum": 1024},
    },
}
STATE_SHAPE: dict[str, Any] = {
    "type": "object",
    "required": ["schema", "sandbox_id", "created_at", "ports", "components"],
    "properties": {
        "schema": {"const": STATE_SCHEMA},
        "sandbox_id": {"type": "string"},
        "created_at": {"type": "string"},
        "ports": {
            "type": "object",
            "required": _REQUIRED,
            "properties": {c.value: _PORT for c in Component},
        },
        "components": {
            "type": "object",
            "required": _REQUIRED,
            "properties": {c.value: _COMPONENT for c in Component},
        },
        "credentials": {  # absent in a sandbox made before passwords: it keeps trust auth
            "type": ["object", "null"],
            "properties": {
                "postgres_password": {"type": "string"},
                "redis_password": {"type": "string"},
            },
        },
    },
}
"""What `from_json` relies on; a state file of any other shape is refused as corrupt."""


def load_state(layout: Layout) -> SandboxState | None:
    """The saved state, None when this directory holds no sandbox yet; refuses a corrupt file."""
    path = layout.state_file
    advice = "remove the directory or choose another --state-dir"
    try:
        text = path.read_bytes().decode("utf-8")
        _check_state_text(text, str(path))
        return SandboxState.from_json(json.loads(text))
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise StateDirError(f"{layout.root} is not a directory") from None
    except OSError as exc:
        raise StateDirError(f"cannot read sandbox state file {path}: {exc.strerror}") from None
    except InputError as exc:
        raise StateDirError(f"{exc}; {advice}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # not JSON, or not ours
        raise StateDirError(f"corrupt sandbox state file {path}: {exc}; {advice}") from None


@functools.lru_cache(maxsize=4)
def _check_state_text(text: str, path: str) -> None:
    """Raise unless `text` is a state file of the right shape. Cached: the state file is read
    some 35 times in one drill and changes at most a few times, and its schema check cost about
    6 ms of the harness's CPU each time (a share of its budget). A text that fails is never
    cached (the call raises), so it is checked, and refused, every time."""
    check_document(json.loads(text), STATE_SHAPE, f"corrupt sandbox state file {path}")


def save_state(layout: Layout, state: SandboxState) -> None:
    """Atomic replace, so a crash mid-write never leaves a half-written state file."""
    tmp: Path | None = None
    try:
        layout.root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".state-", dir=layout.root)
        tmp = Path(name)
        with os.fdopen(fd, "w") as handle:
            json.dump(state.to_json(), handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(layout.state_file)
    except OSError as exc:  # a full disk, most often: the old state file stays as it was
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise StateDirError(
            f"cannot write sandbox state file {layout.state_file}: {exc.strerror or exc}"
        ) from None


def check_state_dir_path(root: Path) -> None:
    """Refuse a state directory that is a file or lies under one (it could never be made)."""
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "" if existing == root else f" ({existing} is a file)"
        raise StateDirError(f"--state-dir {root} is not a directory{where}")


def check_is_sandbox_dir(layout: Layout) -> None:
    """Refuse a non-empty directory that is not a sandbox's (we would clobber someone's files)."""
    if not layout.root.exists():
        return
    if not layout.root.is_dir():
        raise StateDirError(f"--state-dir {layout.root} is not a directory")
    ours = {STATE_FILE, LOCK_FILE, OWNER_FILE}
    entries = {p.name for p in layout.root.iterdir()}
    if entries and not (entries & ours):
        raise StateDirError(
            f"{layout.root} is not empty and holds no drills sandbox; choose another --state-dir"
        )


@contextlib.contextmanager
def operation_lock(layout: Layout, wait_seconds: float = 60.0) -> Iterator[None]:
    """One command at a time per state directory (up, down, restart...)."""
    try:
        layout.root.mkdir(parents=True, exist_ok=True)
        lock_file = (layout.root / LOCK_FILE).open("a+")
    except OSError as exc:  # read-only, no space, no permission: the user's directory to fix
        raise StateDirError(
            f"--state-dir {layout.root} cannot be used: {exc.strerror or exc}"
        ) from None
    with lock_file as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise StateDirError(
                        f"sandbox {layout.root} is busy with another drills command"
                    ) from exc
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def drill_lock(layout: Layout, holder: str) -> Iterator[None]:
    """Held by a drill for its whole run, and by the `sandbox` commands that would break one
    (`down`, `restart`): refuses at once (`TargetBusyError`, naming who holds it), never waits.

    A file lock, so the kernel releases it when its holder dies, however it dies.
    """
    # unbuffered: nothing is left to flush at close, where a full disk would raise
    with (layout.root / DRILL_LOCK_FILE).open("a+b", buffering=0) as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.seek(0)
            held_by = handle.read().decode("utf-8", "replace").strip() or "another drills command"
            raise TargetBusyError(f"{layout.root} is in use by {held_by}") from exc
        with contextlib.suppress(OSError):  # who holds it is a courtesy a full disk may deny
            handle.seek(0)
            handle.truncate()
            handle.write(f"{holder} (pid {os.getpid()})\n".encode())
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PORT = 10000  # below this live well-known services people run on their machines
FREE_PORT_TRIES = 200


def ephemeral_range() -> tuple[int, int]:
    """The ports the kernel gives outgoing connections (Linux's default when it cannot be read)."""
    try:
        low, high = (int(part) for part in EPHEMERAL_RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        return 32768, 60999
    return low, high


def free_port() -> int:
    """A port on 127.0.0.1 that nobody uses right now and no outgoing connection will take.

    Servers restarted after kill -9 bind their old port again. A port from the ephemeral range can
    meanwhile be the local end of any client connection on the machine (open or in TIME_WAIT), and
    the restart then fails with EADDRINUSE; a port outside that range is only ever taken by a bind.
    """
    low, high = ephemeral_range()
    candidates = [
        span for span in ((LOWEST_PORT, low - 1), (high + 1, 65535)) if span[1] - span[0] >= 100
    ]
    for _ in range(FREE_PORT_TRIES if candidates else 0):
        first, last = random.choice(candidates)
        port = random.randint(first, last)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))  # no SO_REUSEADDR: a TIME_WAIT socket counts as use
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # nothing else left
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def allocate_ports() -> dict[Component, int]:
    ports: dict[Component, int] = {}
    for component in Component:
        ports[component] = _another_free_port(ports.values())
    return ports


def _another_free_port(taken: Iterable[int]) -> int:
    taken = set(taken)
    while True:
        port = free_port()
        if port not in taken:
            return port
