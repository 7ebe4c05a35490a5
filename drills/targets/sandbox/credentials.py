"""The sandbox's database passwords: made per sandbox, kept private, never written into text.

A training machine is shared: without passwords anyone on it is a superuser of every sandbox's
PostgreSQL and Redis. Each sandbox gets random passwords when it is created, kept in its state file
(0600). PostgreSQL asks for scram-sha-256 on TCP, replication included; Redis for `requirepass`.

Passwords travel the way libpq and redis-py expect, never as text that could reach a log or a
report:
- the harness and the service connect to PostgreSQL through a **passfile** (`pgpass` in the state
  dir, 0600), so every conninfo says `passfile=...` and no password. A conninfo built from a port
  alone (`postgres.conninfo`) finds the passfile of the sandbox that port belongs to here:
  `remember` is called for every port a sandbox opened in this process serves on;
- PostgreSQL's own programs get it in their environment (`PGPASSWORD`), and the standby keeps it
  in its `primary_conninfo` (written by `pg_basebackup -R`, in its 0700 data directory);
- Redis clients get it as a keyword, the service in its 0600 config file's URL.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

__all__ = ["Credentials", "passfile_for", "remember", "write_private"]

PASSWORD_BYTES = 24


@dataclass(frozen=True)
class Credentials:
    """One sandbox's passwords (empty: a sandbox made before passwords existed, no auth)."""

    postgres_password: str = field(default="", repr=False)
    redis_password: str = field(default="", repr=False)

    @classmethod
    def generate(cls) -> Credentials:
        return cls(
            postgres_password=secrets.token_urlsafe(PASSWORD_BYTES),
            redis_password=secrets.token_urlsafe(PASSWORD_BYTES),
        )

    def to_json(self) -> dict[str, str]:
        return {"postgres_password": self.postgres_password, "redis_password": self.redis_password}

    @classmethod
    def from_json(cls, data: Mapping[str, object] | None) -> Credentials:
        data = data or {}
        return cls(str(data.get("postgres_password", "")), str(data.get("redis_password", "")))

    def redis_url(self, port: int) -> str:
        """For the service's config file (0600) and the sampler's memory only."""
        auth = f":{quote(self.redis_password, safe='')}@" if self.redis_password else ""
        return f"redis://{auth}127.0.0.1:{port}/0"


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner only (0600 from the first byte, atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)  # mkstemp: 0600
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    Path(tmp).replace(path)


def write_passfile(path: Path, password: str) -> None:
    """A libpq passfile for any port on 127.0.0.1 (the servers, the fault proxy, scratch ones)."""
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    write_private(path, f"127.0.0.1:*:*:*:{escaped}\n")


_passfiles: dict[int, Path] = {}


def remember(ports: Iterable[int], passfile: Path) -> None:
    """These ports are served by the sandbox whose passfile this is."""
    for port in ports:
        _passfiles[port] = passfile


def passfile_for(port: int) -> Path | None:
    """The passfile that authenticates to `port`, if a sandbox of this process serves it."""
    passfile = _passfiles.get(port)
    with contextlib.suppress(OSError):
        if passfile is not None and passfile.is_file():
            return passfile
    return None
