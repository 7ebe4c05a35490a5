"""The sandbox's restores, as the runbook performs them: PostgreSQL to a point in time, Redis and
the graph store (`neo4j`) from a snapshot, and the backup-restore test into a scratch instance.

Each restore replaces data for real and is judged by what comes back, so each one also reports how
long it took and what it restored from. A failed point-in-time restore puts the old primary back as
it was (its data directory is only set aside until the restored one is primary): a drill may fail,
the sandbox must stay usable. Failover and fail-back live in `failover.py`; the building blocks of
a restore (backup selection, recovery settings, pause-and-promote) in `pitr.py`.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from drills.errors import DrillError, TargetError
from drills.integrity import TableFacts, table_facts
from drills.targets.base import Component
from drills.targets.sandbox import postgres as pg
from drills.targets.sandbox.pgcluster import (
    Role,
    connect,
    current_timeline,
    flush_archive,
    quote,
    role_of,
    write_role_settings,
)
from drills.targets.sandbox.pitr import (
    BaseBackup,
    base_backups,
    newest_before,
    recover,
    recovery_settings,
    restore_copy,
    stop_scratch_instances,
)
from drills.targets.sandbox.processes import postgres_identity
from drills.targets.sandbox.stack import Sandbox
from drills.targets.sandbox.state import free_port, operation_lock

__all__ = [
    "archive_status",
    "restore_graph_snapshot",
    "restore_point_in_time",
    "restore_redis_snapshot",
    "scratch_root",
    "test_restore",
    "writable_port",
]

_FAST_SHUTDOWN = signal.SIGINT
# A server whose data is about to be set aside need not checkpoint it: its committed WAL is on
# disk already (the restore replays it from there), and a shutdown checkpoint's writeback only
# competes with the restore's copy of the base backup.
_IMMEDIATE_SHUTDOWN = signal.SIGQUIT


def scratch_root(box: Sandbox) -> Path:
    return box.layout.root / "scratch"


def writable_port(box: Sandbox) -> int:
    """The port of whichever PostgreSQL server takes writes now (the standby after a failover)."""
    ports = box.state().ports
    for component in (Component.POSTGRES, Component.POSTGRES_STANDBY):
        if role_of(ports[component]) is Role.PRIMARY:
            return ports[component]
    raise TargetError("no PostgreSQL server takes writes: nothing to read the archive status from")


def restore_point_in_time(box: Sandbox, target_time: datetime) -> dict[str, Any]:
    """Replace the primary's data with its state at `target_time` (base backup + WAL archive).

    Everything committed up to `target_time` is kept, everything committed after it is gone. The
    standby is stopped first: it has replayed what the restore undoes (the corruption, in the
    runbook's scenario) and must never be promoted; fail back (`failover.fail_back`) clones it
    afresh from the restored primary."""
    if target_time.tzinfo is None:
        raise TargetError("the recovery target time needs a time zone")
    layout = box.layout
    with operation_lock(layout):
        state = box.state()
        primary = box.primary_server(state)
        if role_of(state.ports[Component.POSTGRES_STANDBY]) is Role.PRIMARY:
            raise TargetError(
                "postgres-standby serves as primary after a failover: fail back before a "
                "point-in-time restore of postgres"
            )
        flushed = role_of(primary.port) is Role.PRIMARY
        if flushed:
            flush_archive(primary.port)
        backup = newest_before(layout, target_time)
        stopping = time.monotonic()
        for component in (Component.POSTGRES_STANDBY, Component.POSTGRES):
            box.supervisor.terminate(
                state.components[component].processes,
                sig=_IMMEDIATE_SHUTDOWN,
                timeout_seconds=30.0,
            )
            box.record_processes(state, component, [])
        aside = layout.postgres_root / "primary.before-restore"
        shutil.rmtree(aside, ignore_errors=True)
        primary.data_dir.rename(aside)
        target = {"recovery_target_time": quote(target_time.isoformat(sep=" "))}
        settings = recovery_settings(
            primary.port,
            layout.wal_archive,
            target,
            archive_mode=True,
            fallback_wal=aside / "pg_wal",
        )
        started = time.monotonic()
        try:
            restore_copy(backup, primary.data_dir, settings, primary.run_as)
            copied = time.monotonic()
            ref = primary.start(box.supervisor)
            box.record_processes(state, Component.POSTGRES, [ref])
            recover(primary, box.supervisor, ref)
        except (DrillError, psycopg.Error, OSError) as exc:
            _put_back(box, primary, aside)
            raise TargetError(
                f"point-in-time restore to {target_time.isoformat()} failed; "
                f"the primary was put back as it was: {exc}"
            ) from exc
        done = time.monotonic()
        write_role_settings(primary.data_dir, {"port": str(primary.port), "archive_mode": "on"})
        shutil.rmtree(aside, ignore_errors=True)
        return {
            "backup_id": backup.backup_id,
            "target_time": target_time.astimezone(UTC).isoformat(),
            "restore_seconds": round(done - started, 6),
            "copy_seconds": round(copied - started, 6),
            "recovery_seconds": round(done - copied, 6),
            "stop_seconds": round(started - stopping, 6),
            "timeline": current_timeline(primary.port),
            "flushed_archive_first": flushed,
        }


def _put_back(box: Sandbox, primary: pg.PostgresServer, aside: Path) -> None:
    """Undo a failed restore: the set-aside data directory serves again (caller holds the lock)."""
    state = box.state()
    box.supervisor.terminate(
        state.components[Component.POSTGRES].processes, sig=_FAST_SHUTDOWN, timeout_seconds=15.0
    )
    box.record_processes(state, Component.POSTGRES, [])
    shutil.rmtree(primary.data_dir, ignore_errors=True)
    aside.rename(primary.data_dir)
    box.start_component(state, Component.POSTGRES)
    box.start_component(state, Component.POSTGRES_STANDBY)


def restore_redis_snapshot(box: Sandbox, backup_id: str | None = None) -> dict[str, Any]:
    """Restart Redis with exactly the data of a snapshot from the bucket (newest when None)."""
    return _restore_snapshot(box, Component.REDIS, backup_id)


def restore_graph_snapshot(box: Sandbox, backup_id: str | None = None) -> dict[str, Any]:
    """The runbook's restore-neo4j: the graph store restarted with exactly the graph of one
    snapshot from the bucket (newest when None); everything written after it is gone."""
    return _restore_snapshot(box, Component.NEO4J, backup_id)


def _restore_snapshot(box: Sandbox, component: Component, backup_id: str | None) -> dict[str, Any]:
    """Restart a Redis-protocol server with exactly the data of a snapshot from the bucket.

    The server runs with an append-only file, and with AOF on it never reads a plain RDB at
    start-up; so the snapshot becomes the base of a fresh multi-part AOF (the format Redis itself
    writes)."""
    layout = box.layout
    graph = component is Component.NEO4J
    bucket = layout.graph_snapshots if graph else layout.redis_snapshots
    data_dir = layout.graph_data if graph else layout.redis_data
    snapshots = sorted(bucket.glob("*.rdb"))
    if backup_id is not None:
        snapshots = [p for p in snapshots if p.name == backup_id]
    if not snapshots:
        which = "any" if backup_id is None else repr(backup_id)
        raise TargetError(f"no {component.value} snapshot {which} in {bucket}")
    snapshot = snapshots[-1]
    with operation_lock(layout):
        state = box.state()
        started = time.monotonic()
        box.supervisor.terminate(state.components[component].processes)
        box.record_processes(state, component, [])
        aof = data_dir / "appendonlydir"
        shutil.rmtree(aof, ignore_errors=True)
        aof.mkdir(parents=True)
        shutil.copyfile(snapshot, aof / "appendonly.aof.1.base.rdb")
        (aof / "appendonly.aof.1.incr.aof").write_bytes(b"")
        (aof / "appendonly.aof.manifest").write_text(
            "file appendonly.aof.1.base.rdb seq 1 type b\n"
            "file appendonly.aof.1.incr.aof seq 1 type i\n"
        )
        shutil.copyfile(snapshot, data_dir / "dump.rdb")
        box.start_component(state, component)
        server = box.graph(state) if graph else box.redis_server(state)
        with server.client() as client:
            keys = int(client.dbsize())
        return {
            "backup_id": snapshot.name,
            "keys": keys,
            "restore_seconds": round(time.monotonic() - started, 6),
        }


def archive_status(box: Sandbox) -> dict[str, Any]:
    """Backup freshness: the newest base backup's age and the newest restorable point's.

    With WAL archiving the newest restorable point is the end of the newest archived segment; its
    age is the RPO exposure if the primary's disk died now. When every WAL byte is archived there
    is nothing to lose, so the exposure is 0 however old that segment is."""
    now = datetime.now(UTC)
    backups = base_backups(box.layout)
    newest = backups[-1] if backups else None
    out: dict[str, Any] = {
        "newest_backup_id": newest.backup_id if newest else None,
        "backup_age_seconds": (now - newest.completed_at).total_seconds() if newest else None,
        "base_backups": len(backups),
    }
    try:
        with connect(writable_port(box)) as conn:
            row = conn.execute(
                "SELECT a.last_archived_wal, a.last_archived_time, a.failed_count,"
                " a.last_failed_wal, (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint,"
                " (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size')"
                " FROM pg_stat_archiver a"
            ).fetchone()
    except psycopg.Error as exc:
        raise TargetError(f"cannot read the WAL archiver's status: {exc}") from exc
    assert row is not None
    last_wal, last_time, failed, last_failed, current, segment_size = row
    age = (now - last_time).total_seconds() if last_time is not None else None
    unarchived: int | None = None
    if isinstance(last_wal, str) and len(last_wal) == 24:
        segment_no = int(last_wal[8:16], 16) * (0x100000000 // segment_size) + int(
            last_wal[16:], 16
        )
        unarchived = max(0, int(current) - (segment_no + 1) * int(segment_size))
    out.update(
        {
            "last_archived_wal": last_wal,
            "restorable_point_age_seconds": age,
            "unarchived_wal_bytes": unarchived,
            "rpo_exposure_seconds": 0.0 if unarchived == 0 else age,
            "archive_failures": int(failed),
            "last_failed_wal": last_failed,
        }
    )
    return out


def _mark_verification_point(port: int) -> tuple[str, dict[str, TableFacts]]:
    """A named restore point with the exact table facts at it.

    Writers to the business tables wait for a few milliseconds (SHARE lock): every commit on them
    precedes the restore point in the WAL and is seen by the facts, none follows before the lock
    is released, so "the source at the backup point" is known exactly under live traffic."""
    name = f"drills-verify-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"
    with psycopg.connect(pg.conninfo(port)) as conn:
        conn.execute("SET LOCAL lock_timeout = '5s'")
        for table in ("canary_records", "runs"):
            found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
            if found and found[0]:
                conn.execute(f"LOCK TABLE {table} IN SHARE MODE")
        facts = table_facts(conn)
        conn.execute("SELECT pg_create_restore_point(%s)", (name,))
        conn.commit()
    return name, facts


def test_restore(box: Sandbox, timeout_seconds: float = 120.0) -> dict[str, Any]:
    """Restore the newest base backup plus the WAL archive into a scratch instance on a free port
    while the sandbox keeps serving; compare its tables with the live primary's at the restore
    point. Returns the comparison, restore time and backup freshness; the scratch is removed."""
    freshness = archive_status(box)  # before this test flushes the archive itself
    port = writable_port(box)
    try:
        marker, source = _mark_verification_point(port)
    except psycopg.Error as exc:
        raise TargetError(f"cannot mark the restore point on the primary: {exc}") from exc
    flush_archive(port)
    backup: BaseBackup = newest_before(box.layout, datetime.now(UTC))
    identity = postgres_identity()
    data_dir = scratch_root(box) / f"restore-{secrets.token_hex(4)}"
    scratch = box.postgres_server(data_dir, free_port(), box.layout.logs / "postgres-scratch.log")
    target = {"recovery_target_name": quote(marker)}
    settings = recovery_settings(
        scratch.port, box.layout.wal_archive, target, archive_mode=False, fallback_wal=None
    )
    started = time.monotonic()
    ref = None
    try:
        restore_copy(backup, data_dir, settings, identity)
        ref = scratch.start(box.supervisor)
        recover(scratch, box.supervisor, ref, timeout_seconds)
        restore_seconds = time.monotonic() - started
        with connect(scratch.port, pg.DATABASE) as conn:
            restored = table_facts(conn)
    except (psycopg.Error, OSError) as exc:
        raise TargetError(f"the scratch restore failed: {exc}") from exc
    finally:
        if ref is not None:
            box.supervisor.terminate([ref], sig=_FAST_SHUTDOWN)
        stop_scratch_instances(scratch_root(box))
    mismatches = [
        f"{t}: source {source[t].to_json()} restored {restored[t].to_json()}"
        for t in source
        if source[t] != restored[t]
    ]
    return {
        "verified": not mismatches,
        "mismatches": mismatches,
        "backup_id": backup.backup_id,
        "restore_point": marker,
        "restore_seconds": round(restore_seconds, 6),
        "tables": {
            t: {"source": source[t].to_json(), "restored": restored[t].to_json()} for t in source
        },
        **freshness,
    }
