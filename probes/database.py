"""Read-only checks of the database tier: integrity, backups and their freshness, replication.

SQL checks connect where the target's own `postgres` signal connects (the read-write path, so
after a failover they follow the new primary); backups are listed by the target driver. Nothing
here changes the target.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from chaoslib.exceptions import ActivityFailed

from drills.activity_measurements import REPORT_KEY
from drills.errors import DrillError
from drills.integrity import last_good_time, table_facts
from drills.targets.base import BackupFreshness, Component, SignalKind, Target
from drills.targets.registry import target_from

__all__ = [
    "backup_freshness",
    "integrity_check",
    "last_known_good_time",
    "list_backups",
    "postgres_conninfo",
    "primary_status",
    "replication_status",
    "standby_streaming",
]

Configuration = dict[str, Any]
Secrets = dict[str, Any]

RPO_OBJECTIVE_SECONDS = 300.0


def postgres_conninfo(target: Target) -> str:
    """Where the target's `postgres` signal connects (ActivityFailed when it has none)."""
    for spec in target.signals():
        if spec.kind is SignalKind.POSTGRES:
            return spec.address
    raise ActivityFailed(f"target {target.name} names no PostgreSQL connection (postgres signal)")


def connect(configuration: Configuration | None) -> psycopg.Connection[Any]:
    conninfo = postgres_conninfo(target_from(configuration))
    try:
        return psycopg.connect(conninfo, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        raise ActivityFailed(f"cannot reach the PostgreSQL primary: {exc}") from exc


def integrity_check(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Runbook: database integrity check. Per business table: rows, rows whose stored checksum
    does not match their content (corrupt), and a content digest; `corrupt_rows` in total."""
    try:
        with connect(configuration) as conn:
            facts = table_facts(conn)
    except psycopg.Error as exc:
        raise ActivityFailed(f"integrity check failed to run: {exc}") from exc
    corrupt = sum(f.corrupt for f in facts.values())
    return {
        "ok": corrupt == 0,
        "corrupt_rows": corrupt,
        "tables": {name: f.to_json() for name, f in facts.items()},
    }


def last_known_good_time(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> str | None:
    """Runbook: identify the last known good state. Just before the commit of the oldest corrupt
    row version (ISO-8601 UTC), from PostgreSQL's commit timestamps; None when nothing is corrupt."""
    try:
        with connect(configuration) as conn:
            moment = last_good_time(conn)
    except (psycopg.Error, DrillError) as exc:
        raise ActivityFailed(f"cannot date the corruption: {exc}") from exc
    return None if moment is None else moment.astimezone(UTC).isoformat()


def list_backups(
    component: str = "postgres",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> list[dict[str, Any]]:
    """Runbook: list available backups (oldest first) with their age."""
    now = datetime.now(UTC)
    try:
        backups = target_from(configuration).list_backups(Component(component))
    except (DrillError, ValueError) as exc:
        raise ActivityFailed(f"cannot list {component} backups: {exc}") from exc
    return [
        {
            "backup_id": b.backup_id,
            "taken_at": b.taken_at.isoformat(),
            "age_seconds": round((now - b.taken_at).total_seconds(), 3),
            "size_bytes": b.size_bytes,
        }
        for b in backups
    ]


def backup_freshness(
    objective_seconds: float = RPO_OBJECTIVE_SECONDS,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Runbook: check backup timestamps. The newest base backup's age and the newest restorable
    point's (the archived WAL): the data that would be lost if the primary vanished now, held
    against the RPO objective; the ages go into the drill report."""
    target = target_from(configuration)
    if not isinstance(target, BackupFreshness):
        raise ActivityFailed(f"target {target.kind} cannot report backup freshness")
    try:
        status: dict[str, Any] = dict(target.backup_freshness())
    except DrillError as exc:
        raise ActivityFailed(f"cannot read backup freshness: {exc}") from exc
    exposure = status.get("rpo_exposure_seconds")
    status["objective_seconds"] = objective_seconds
    status["met"] = exposure is not None and exposure <= objective_seconds
    status[REPORT_KEY] = {
        "backup_age_seconds": status.get("backup_age_seconds"),
        "restorable_point_age_seconds": status.get("restorable_point_age_seconds"),
        "rpo_exposure_seconds": exposure,
    }
    return status


def replication_status(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Runbook: database replication status. The primary's view of each standby: state and how
    far behind it is (bytes and seconds)."""
    query = (
        "SELECT application_name, state, client_port, sync_state,"
        " (pg_current_wal_lsn() - replay_lsn)::bigint, extract(epoch FROM replay_lag)::float8"
        " FROM pg_stat_replication ORDER BY application_name"
    )
    try:
        with connect(configuration) as conn:
            rows = conn.execute(query).fetchall()
    except psycopg.Error as exc:
        raise ActivityFailed(f"cannot read replication status: {exc}") from exc
    standbys = [
        {
            "name": name,
            "state": state,
            "client_port": port,
            "sync_state": sync,
            "replay_lag_bytes": lag_bytes,
            "replay_lag_seconds": lag_seconds,
        }
        for name, state, port, sync, lag_bytes, lag_seconds in rows
    ]
    return {
        "streaming": sum(1 for s in standbys if s["state"] == "streaming"),
        "standbys": standbys,
    }


def standby_streaming(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> bool:
    """True when at least one standby streams from the primary (the second region is in sync)."""
    try:
        return int(replication_status(configuration, secrets)["streaming"]) >= 1
    except ActivityFailed:
        return False


def primary_status(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Runbook: check database status. Which server answers on the read-write path (its port and
    timeline), or why none does. Never raises: an unreachable primary is the answer."""
    try:
        with connect(configuration) as conn:
            row = conn.execute(
                "SELECT inet_server_port(), pg_walfile_name(pg_current_wal_lsn())"
            ).fetchone()
    except (ActivityFailed, psycopg.Error) as exc:
        return {"reachable": False, "error": str(exc).strip().splitlines()[0]}
    assert row is not None
    return {"reachable": True, "port": row[0], "timeline": int(str(row[1])[:8], 16)}
