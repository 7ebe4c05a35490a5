"""Database faults and the runbook's database recovery steps.

Failover and fail-back, corrupting rows (a fault), the integrity alert, backups,
point-in-time restore, Redis snapshot restore, post-restore validation and the backup-restore
test. Each asks the target driver (or the database through the target's own `postgres` signal
address) and fails with `ActivityFailed` saying what went wrong.

Restore times, backup freshness and the rows a fault touched are reported under
`drills.activity_measurements.REPORT_KEY`, so the drill report shows them beside the core
measurements.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import psycopg
from chaoslib.exceptions import ActivityFailed

from drills.activity_measurements import REPORT_KEY
from drills.controlplane import paths
from drills.controlplane.connection import Connection, Endpoint
from drills.errors import DrillError, ServiceError
from drills.probes.database import (
    RPO_OBJECTIVE_SECONDS,
    backup_freshness,
    connect,
    integrity_check,
    last_known_good_time,
)
from drills.probes.http import graphql_answers_healthy
from drills.targets.base import Backup, Component, ScratchRestore
from drills.targets.registry import target_from

__all__ = [
    "check_backup_freshness",
    "cleanup_scratch_restores",
    "corrupt_recent_rows",
    "fail_back",
    "integrity_alert",
    "promote_standby",
    "record_business_runs",
    "restore_point_in_time",
    "restore_redis_snapshot",
    "take_backup",
    "test_restore_newest_backup",
    "validate_restored_data",
    "verify_backup",
    "verify_read_path",
]

Configuration = dict[str, Any]
Secrets = dict[str, Any]

LAST_KNOWN_GOOD = "last-known-good"
NEWEST = "newest"

# Every other row of the most recent ones is deleted, the rest get content that no longer matches
# their checksum. Data-modifying CTEs: one statement per table, one transaction for both.
_CORRUPT_CANARY = """
WITH recent AS (
    SELECT stream, seq, row_number() OVER (ORDER BY committed_at DESC, seq DESC) AS n
    FROM canary_records ORDER BY committed_at DESC, seq DESC LIMIT %(rows)s),
gone AS (
    DELETE FROM canary_records c USING recent r
    WHERE c.stream = r.stream AND c.seq = r.seq AND r.n %% 2 = 1 RETURNING 1),
bad AS (
    UPDATE canary_records c SET payload = 'corrupted:' || md5(random()::text)
    FROM recent r WHERE c.stream = r.stream AND c.seq = r.seq AND r.n %% 2 = 0 RETURNING 1)
SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM bad)
"""
_CORRUPT_RUNS = """
WITH recent AS (
    SELECT id, row_number() OVER (ORDER BY id DESC) AS n FROM runs ORDER BY id DESC
    LIMIT %(rows)s),
gone AS (
    DELETE FROM runs r USING recent x WHERE r.id = x.id AND x.n %% 2 = 1 RETURNING 1),
bad AS (
    UPDATE runs r SET status = 'tampered-' || r.status
    FROM recent x WHERE r.id = x.id AND x.n %% 2 = 0 RETURNING 1)
SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM bad)
"""


def _failed(what: str, exc: Exception) -> ActivityFailed:
    return ActivityFailed(f"{what}: {exc}")


def promote_standby(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Promote the streaming standby (the second region) to a writable primary; the service
    follows it through its multi-host, read-write connection string."""
    started = time.monotonic()
    try:
        target_from(configuration).promote_standby()
    except DrillError as exc:
        raise _failed("promotion failed", exc) from exc
    seconds = round(time.monotonic() - started, 6)
    return {"promote_seconds": seconds, REPORT_KEY: {"promote_seconds": seconds}}


def fail_back(
    report_as: str | None = "failback_seconds",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Return to the original primary with a streaming standby, losing no write (idempotent:
    a healthy pair is left alone). Also rebuilds a standby left stale by a restore. The time it
    took is reported under `report_as` (not at all when None)."""
    started = time.monotonic()
    try:
        target_from(configuration).rebuild_standby()
    except DrillError as exc:
        raise _failed("fail-back failed", exc) from exc
    seconds = round(time.monotonic() - started, 6)
    if report_as is None:
        return {"seconds": seconds}
    return {"seconds": seconds, REPORT_KEY: {report_as: seconds}}


def record_business_runs(
    count: int = 20, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> int:
    """Business writes through the service's real API (`POST /api/runs`); returns how many."""
    conn = Connection(Endpoint.of(target_from(configuration)), 5.0)
    try:
        for i in range(int(count)):
            conn.request("POST", paths.RUNS, {"name": f"drill-run-{i}", "status": "succeeded"})
            reply = conn.request("POST", paths.RUNS, {"name": f"nightly-{i}", "status": "running"})
            if not reply.ok:
                raise ServiceError(f"POST {paths.RUNS}: HTTP {reply.status}")
    except ServiceError as exc:
        raise _failed("cannot record business runs", exc) from exc
    finally:
        conn.close()
    return 2 * int(count)


def corrupt_recent_rows(
    canary_rows: int = 100,
    runs_rows: int = 10,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Fault: corrupt and delete the most recent rows directly in PostgreSQL, behind the
    service's back. Of the newest `canary_rows` canary records and `runs_rows` business runs,
    every other one is deleted and the rest altered so they no longer match their checksums."""
    try:
        with connect(configuration) as conn, conn.transaction():
            canary = conn.execute(_CORRUPT_CANARY, {"rows": int(canary_rows)}).fetchone()
            runs = conn.execute(_CORRUPT_RUNS, {"rows": int(runs_rows)}).fetchone()
    except psycopg.Error as exc:
        raise _failed("corruption failed", exc) from exc
    assert canary is not None and runs is not None
    deleted, corrupted = int(canary[0]) + int(runs[0]), int(canary[1]) + int(runs[1])
    if deleted + corrupted == 0:
        raise ActivityFailed("nothing to corrupt: canary_records and runs are empty")
    return {
        "canary_deleted": int(canary[0]),
        "canary_corrupted": int(canary[1]),
        "runs_deleted": int(runs[0]),
        "runs_corrupted": int(runs[1]),
        REPORT_KEY: {"rows_deleted_by_fault": deleted, "rows_corrupted_by_fault": corrupted},
    }


def integrity_alert(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Runbook detection: the integrity check runs; when it finds corrupt rows, writes stop at
    once (maintenance mode: the service refuses writes and reports itself unhealthy). Fails when
    the check finds nothing: then the corruption went undetected."""
    report = integrity_check(configuration, secrets)
    if report["ok"]:
        raise ActivityFailed(
            "integrity check found no corrupt rows: the corruption went undetected"
        )
    try:
        target_from(configuration).set_maintenance(True)
    except DrillError as exc:
        raise _failed("cannot switch maintenance mode on", exc) from exc
    return {**report, "maintenance": True}


def _backup_json(backup: Backup) -> dict[str, Any]:
    return {
        "backup_id": backup.backup_id,
        "component": backup.component.value,
        "taken_at": backup.taken_at.isoformat(),
        "size_bytes": backup.size_bytes,
    }


def take_backup(
    component: str = "postgres",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """A fresh backup: a PostgreSQL base backup or a Redis snapshot into the backup bucket."""
    try:
        return _backup_json(target_from(configuration).take_backup(Component(component)))
    except (DrillError, ValueError) as exc:
        raise _failed(f"cannot back up {component}", exc) from exc


def verify_backup(
    backup_id: str = NEWEST,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Runbook: verify backup integrity (`pg_verifybackup`) of a base backup, the newest by
    default. Fails when the backup is damaged."""
    target = target_from(configuration)
    try:
        if backup_id == NEWEST:
            backups = target.list_backups(Component.POSTGRES)
            if not backups:
                raise ActivityFailed("there is no base backup to verify")
            backup_id = backups[-1].backup_id
        return target.verify_backup(backup_id)
    except DrillError as exc:
        raise _failed("backup verification failed", exc) from exc


def restore_point_in_time(
    target_time: str = LAST_KNOWN_GOOD,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Runbook: restore PostgreSQL from base backup + WAL archive to `target_time` (ISO-8601 with
    a zone), by default the last known good time: just before the oldest corrupt row version was
    committed. Everything committed after that point is gone."""
    if target_time == LAST_KNOWN_GOOD:
        found = last_known_good_time(configuration, secrets)
        if found is None:
            raise ActivityFailed("no corrupt rows: no last known good time; give target_time")
        target_time = found
    try:
        moment = datetime.fromisoformat(target_time)
    except ValueError as exc:
        raise _failed("target_time is not an ISO-8601 time", exc) from exc
    if moment.tzinfo is None:
        raise ActivityFailed(f"target_time {target_time!r} has no time zone")
    try:
        backup = target_from(configuration).restore_point_in_time(moment)
    except DrillError as exc:
        raise _failed("point-in-time restore failed", exc) from exc
    details = dict(backup.details)
    return {
        **details,
        "recovery_target": target_time,
        REPORT_KEY: {
            "recovery_target": target_time,
            "pitr_restore_seconds": details.get("restore_seconds"),
        },
    }


def restore_redis_snapshot(
    backup_id: str | None = None,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Runbook: restore Redis from its snapshot (the newest by default)."""
    try:
        backup = target_from(configuration).restore_snapshot(Component.REDIS, backup_id)
    except DrillError as exc:
        raise _failed("Redis restore failed", exc) from exc
    details = dict(backup.details)
    return {
        **details,
        REPORT_KEY: {"redis_restore_seconds": details.get("restore_seconds")},
    }


def validate_restored_data(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Runbook: verify data integrity post-restore. Fails while any corrupt row remains."""
    report = integrity_check(configuration, secrets)
    if not report["ok"]:
        raise ActivityFailed(f"{report['corrupt_rows']} corrupt rows survived the restore")
    return report


def verify_read_path(
    timeout_seconds: float = 30.0,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Runbook: verify functionality before writes resume. Waits until GraphQL `healthCheck`
    answers true and the business data reads back through the service with every row's checksum
    valid (works in maintenance mode, which refuses only writes)."""
    conn = Connection(Endpoint.of(target_from(configuration)), 2.0)
    deadline = time.monotonic() + timeout_seconds
    last = "no answer yet"
    try:
        while time.monotonic() < deadline:
            try:
                if graphql_answers_healthy(2.0, configuration):
                    reply = conn.request("GET", paths.RUNS, query={"limit": 5000})
                    if not reply.ok:
                        raise ServiceError(f"GET {paths.RUNS}: HTTP {reply.status}")
                    runs = reply.json()["runs"]
                    invalid = [r["id"] for r in runs if not r.get("checksum_valid")]
                    if invalid:
                        raise ActivityFailed(f"runs with invalid checksums: {invalid[:10]}")
                    return {"runs_read": len(runs), "graphql": True}
                last = "GraphQL healthCheck is not true"
            except (ServiceError, KeyError, TypeError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
    finally:
        conn.close()
    raise ActivityFailed(f"service not functional after {timeout_seconds:.0f} s: {last}")


def test_restore_newest_backup(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Runbook: test-backup-restore. Restore the newest base backup plus the WAL archive into a
    scratch instance while the system keeps serving; compare row counts and checksums with the
    source at the restore point. Fails when they differ."""
    target = target_from(configuration)
    if not isinstance(target, ScratchRestore):
        raise ActivityFailed(f"target {target.kind} cannot restore into a scratch instance")
    try:
        result: dict[str, Any] = dict(target.test_restore())
    except DrillError as exc:
        raise _failed("the test restore failed", exc) from exc
    if not result.get("verified"):
        raise ActivityFailed(
            "restored copy differs from the source: " + "; ".join(result["mismatches"])
        )
    rows = sum(int(t["restored"]["rows"]) for t in result.get("tables", {}).values())
    result[REPORT_KEY] = {"restore_seconds": result.get("restore_seconds"), "rows_verified": rows}
    return result


def check_backup_freshness(
    objective_seconds: float = RPO_OBJECTIVE_SECONDS,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Runbook: check backup timestamps against the RPO objective. Fails when the newest
    restorable point is older than `objective_seconds` (the exposure if the primary vanished)."""
    status = backup_freshness(objective_seconds, configuration, secrets)
    if not status["met"]:
        raise ActivityFailed(
            f"RPO exposure {status.get('rpo_exposure_seconds')} s exceeds the objective "
            f"({objective_seconds:g} s): the newest restorable point is too old"
        )
    return status


def cleanup_scratch_restores(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> list[str]:
    """Stop and delete scratch restores a test left behind (a rollback: nothing to do is fine)."""
    target = target_from(configuration)
    if not isinstance(target, ScratchRestore):
        return []
    try:
        return list(target.cleanup_scratch())
    except DrillError as exc:
        raise _failed("cannot clean up scratch restores", exc) from exc
