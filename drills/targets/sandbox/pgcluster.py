"""PostgreSQL plumbing shared by failover and point-in-time recovery in the sandbox.

A data directory changes role (primary, standby, restored copy, scratch instance) by being cloned
or restored, and every clone inherits the `postgresql.conf` of its source. So each role's settings
(port, archiving, recovery target) live in one marked block at the end of the file that is
*replaced*, never appended to: a clone never carries its source's port, and a restored primary never
keeps a recovery target that a later standby clone would obey.

Servers are asked what they are (`Role`) rather than trusted to be what the state file says: after
a failover the "standby" is the primary, and a crash can leave either one down.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import psycopg

from drills.errors import ComponentError
from drills.targets.sandbox import postgres as pg
from drills.targets.sandbox.processes import RunAs

__all__ = [
    "Role",
    "archive_restore_command",
    "connect",
    "current_timeline",
    "dedupe_auto_conf",
    "flush_archive",
    "lsn",
    "promote",
    "quote",
    "role_of",
    "run_tool",
    "streams_from",
    "wait_role",
    "wait_streaming",
    "write_role_settings",
]

ROLE_MARKER = "# drills role settings: rewritten on every role change, keep last"


class Role(StrEnum):
    PRIMARY = "primary"  # accepts writes
    STANDBY = "standby"  # in recovery (streaming, replaying an archive, or paused)
    DOWN = "down"  # does not answer


def quote(value: str) -> str:
    """A PostgreSQL configuration string literal."""
    return "'" + value.replace("'", "''") + "'"


def archive_restore_command(archive: Path, fallback: Path | None = None) -> str:
    """`restore_command` fetching WAL from the bucket, else from `fallback` (the pg_wal of a
    crashed primary: what it wrote but never archived). Silent when a file is in neither."""

    def fetch(directory: Path) -> str:
        where = str(directory).replace('"', '\\"')
        return f'test -f "{where}/%f" && cp "{where}/%f" "%p"'

    command = fetch(archive) if fallback is None else f"{fetch(archive)} || ({fetch(fallback)})"
    return quote(command)


def write_role_settings(data_dir: Path, settings: Mapping[str, str]) -> None:
    """Replace the role block at the end of `postgresql.conf` (values already quoted as needed)."""
    conf = data_dir / "postgresql.conf"
    text = conf.read_text()
    head = text.split(ROLE_MARKER, 1)[0].rstrip("\n")
    body = "\n".join(f"{key} = {value}" for key, value in settings.items())
    conf.write_text(f"{head}\n\n{ROLE_MARKER}\n{body}\n")


def dedupe_auto_conf(data_dir: Path) -> None:
    """Keep the last line of each setting in `postgresql.auto.conf` (`pg_basebackup -R` appends
    to what the clone inherited, so the file would grow with every failover cycle)."""
    auto = data_dir / "postgresql.auto.conf"
    if not auto.exists():
        return
    settings: dict[str, str] = {}
    comments: list[str] = []
    for line in auto.read_text().splitlines():
        key, sep, _ = line.partition("=")
        if line.lstrip().startswith("#") or not sep:
            if line.strip():
                comments.append(line)
            continue
        settings.pop(key.strip(), None)
        settings[key.strip()] = line
    auto.write_text("\n".join([*comments, *settings.values()]) + "\n")


def connect(
    port: int, dbname: str = "postgres", timeout_seconds: int = 2
) -> psycopg.Connection[Any]:
    """An autocommit connection to the server on `port` (raises psycopg errors)."""
    return psycopg.connect(pg.conninfo(port, dbname, timeout_seconds), autocommit=True)


def role_of(port: int) -> Role:
    try:
        with connect(port, timeout_seconds=1) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    except psycopg.Error:
        return Role.DOWN
    return Role.STANDBY if row and row[0] else Role.PRIMARY


def wait_role(port: int, role: Role, timeout_seconds: float = 30.0) -> float:
    started = time.monotonic()
    while role_of(port) is not role:
        if time.monotonic() - started > timeout_seconds:
            raise ComponentError(
                f"postgres on port {port} is not {role.value} after {timeout_seconds:.0f} s"
            )
        time.sleep(0.02)
    return time.monotonic() - started


def current_timeline(port: int) -> int:
    """The timeline a primary writes on (from the name of its current WAL file)."""
    with connect(port) as conn:
        row = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()
    assert row is not None
    return int(str(row[0])[:8], 16)


def lsn(text: str) -> int:
    """'16/B374D848' as a number, to compare WAL positions."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def promote(port: int, timeout_seconds: float = 30.0) -> float:
    """`pg_promote()` a standby and wait until it takes writes; returns seconds taken.

    Also clears the settings only a standby uses, so a base backup of this new primary does not
    hand them on."""
    started = time.monotonic()
    with connect(port) as conn:
        row = conn.execute(
            "SELECT pg_promote(wait => true, wait_seconds => %s)", (max(1, round(timeout_seconds)),)
        ).fetchone()
    if not row or not row[0]:
        raise ComponentError(f"postgres on port {port} did not finish promotion")
    wait_role(port, Role.PRIMARY, timeout_seconds)
    seconds = time.monotonic() - started
    with connect(port) as conn:
        conn.execute("ALTER SYSTEM RESET primary_conninfo")
        conn.execute("ALTER SYSTEM RESET primary_slot_name")
    return seconds


def wait_streaming(standby_port: int, primary_port: int, timeout_seconds: float = 30.0) -> float:
    """Until the standby on `standby_port` streams from the primary on `primary_port`, on the
    primary's current timeline."""
    started = time.monotonic()
    while True:
        if streams_from(standby_port, primary_port):
            return time.monotonic() - started
        if time.monotonic() - started > timeout_seconds:
            raise ComponentError(
                f"postgres standby on port {standby_port} does not stream from port "
                f"{primary_port} after {timeout_seconds:.0f} s"
            )
        time.sleep(0.02)


def streams_from(standby_port: int, primary_port: int) -> bool:
    """Whether the standby streams from that primary, on the primary's timeline."""
    try:
        timeline = current_timeline(primary_port)
        with connect(standby_port, timeout_seconds=1) as conn:
            row = conn.execute(
                "SELECT status, received_tli, sender_port FROM pg_stat_wal_receiver"
            ).fetchone()
    except psycopg.Error:
        return False
    return (
        row is not None and row[0] == "streaming" and row[1] == timeline and row[2] == primary_port
    )


def flush_archive(port: int, timeout_seconds: float = 60.0) -> str:
    """Close the current WAL segment and wait until the archiver has stored it; returns its name.

    Everything committed before this call is then restorable from the bucket."""
    with connect(port) as conn:
        row = conn.execute("SELECT pg_walfile_name(pg_switch_wal() - 1)").fetchone()
        assert row is not None
        segment = str(row[0])
        deadline = time.monotonic() + timeout_seconds
        while True:
            stats = conn.execute(
                "SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver"
            ).fetchone()
            archived = str(stats[0]) if stats and stats[0] else ""
            # a segment name, or a .partial/.backup file named after one (a .history file is not)
            if len(archived) >= 24 and archived[:24] >= segment:
                return segment
            if time.monotonic() > deadline:
                failed = stats[1] if stats else None
                raise ComponentError(
                    f"WAL segment {segment} not archived after {timeout_seconds:.0f} s "
                    f"(last archived: {archived or 'none'})"
                    + (f" (archiving {failed} keeps failing)" if failed else "")
                )
            time.sleep(0.02)


def run_tool(run_as: RunAs | None, argv: list[str], timeout_seconds: float = 300.0) -> str:
    """Run a PostgreSQL program as the server's user; ComponentError with its message on failure."""
    command = run_as.wrap(argv) if run_as else list(argv)
    extra = run_as.popen_kwargs() if run_as else {}
    try:
        done = subprocess.run(  # type: ignore[call-overload]  # popen_kwargs is a plain dict
            command, capture_output=True, text=True, timeout=timeout_seconds, check=False, **extra
        )
    except subprocess.TimeoutExpired as exc:
        raise ComponentError(
            f"{Path(argv[0]).name} timed out after {timeout_seconds:.0f} s"
        ) from exc
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise ComponentError(f"{Path(argv[0]).name} failed: {lines[-1]}")
    return str(done.stdout)
