"""Graph store (the runbook's Neo4j) faults and recovery steps: corrupting nodes, restore-neo4j.

The corruption goes behind the service's back, straight into the graph (as `corrupt_recent_rows`
does in PostgreSQL); the restore is the runbook's `./scripts/dr/restore-neo4j.sh --backup-id ID`:
the whole graph replaced by one backup from the bucket. Restore times and the backup used are
reported under `drills.activity_measurements.REPORT_KEY`.
"""

from __future__ import annotations

import secrets as random_secrets
from datetime import datetime
from typing import Any

from chaoslib.exceptions import ActivityFailed

from drills.activity_measurements import REPORT_KEY
from drills.errors import DrillError
from drills.probes.database import last_known_good_time
from drills.probes.graph import graph_integrity_check, graph_query
from drills.targets.base import Backup, Component, GraphValue
from drills.targets.registry import target_from

__all__ = ["corrupt_recent_nodes", "restore_graph_snapshot", "validate_restored_graph"]

Configuration = dict[str, Any]
Secrets = dict[str, Any]

LAST_KNOWN_GOOD = "last-known-good"
NEWEST = "newest"

_NEWEST_RECORDS = (
    "MATCH (r:CanaryRecord) RETURN r.stream, r.seq ORDER BY r.sent_at DESC, r.seq DESC LIMIT $n"
)
_DELETE = "MATCH (r:CanaryRecord {stream: $stream, seq: $seq}) DELETE r"
_TAMPER = "MATCH (r:CanaryRecord {stream: $stream, seq: $seq}) SET r.payload = $payload"


def corrupt_recent_nodes(
    nodes: int = 100, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Fault: of the newest `nodes` canary nodes in the graph store, every other one is deleted
    and the rest altered so they no longer match their checksums."""
    newest = graph_query(configuration, _NEWEST_RECORDS, {"n": int(nodes)})
    if not newest:
        raise ActivityFailed("nothing to corrupt: the graph holds no canary nodes")
    deleted = corrupted = 0
    for i, (stream, seq) in enumerate(newest):
        key: dict[str, GraphValue] = {"stream": str(stream), "seq": int(seq)}
        if i % 2 == 0:
            graph_query(configuration, _DELETE, key, mutating=True)
            deleted += 1
        else:
            bad = f"corrupted:{random_secrets.token_hex(8)}"
            graph_query(configuration, _TAMPER, {**key, "payload": bad}, mutating=True)
            corrupted += 1
    return {
        "nodes_deleted": deleted,
        "nodes_corrupted": corrupted,
        REPORT_KEY: {"nodes_deleted_by_fault": deleted, "nodes_corrupted_by_fault": corrupted},
    }


def _chosen(backups: list[Backup], backup_id: str, configuration: Configuration | None) -> str:
    if not backups:
        raise ActivityFailed("there is no neo4j backup to restore")
    if backup_id == NEWEST:
        return backups[-1].backup_id
    if backup_id == LAST_KNOWN_GOOD:
        found = last_known_good_time(configuration)
        if found is None:
            return backups[-1].backup_id  # nothing corrupt in PostgreSQL: the newest is good
        moment = datetime.fromisoformat(found)
        before = [b for b in backups if b.taken_at <= moment]
        if not before:
            raise ActivityFailed(f"no neo4j backup was taken before the last known good {found}")
        return before[-1].backup_id
    if backup_id not in {b.backup_id for b in backups}:
        known = ", ".join(b.backup_id for b in backups[-3:])
        raise ActivityFailed(f"no neo4j backup {backup_id!r} (newest: {known})")
    return backup_id


def restore_graph_snapshot(
    backup_id: str = LAST_KNOWN_GOOD,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Runbook: `restore-neo4j.sh --backup-id BACKUP_ID`. The graph store restarted with exactly
    the graph of one backup: `backup_id` names it, `newest` is the newest, `last-known-good` (the
    default) the newest taken before the last known good time of PostgreSQL's data. Everything
    written to the graph after that backup is gone (the drill counts it)."""
    target = target_from(configuration)
    try:
        chosen = _chosen(target.list_backups(Component.NEO4J), backup_id, configuration)
        backup = target.restore_snapshot(Component.NEO4J, chosen)
    except DrillError as exc:
        raise ActivityFailed(f"neo4j restore failed: {exc}") from exc
    details = dict(backup.details)
    return {
        **details,
        REPORT_KEY: {
            "graph_restore_seconds": details.get("restore_seconds"),
            "graph_backup_id": backup.backup_id,
        },
    }


def validate_restored_graph(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Runbook: verify the graph's integrity after the restore. Fails while any corrupt node
    remains."""
    report = graph_integrity_check(configuration, secrets)
    if not report["ok"]:
        raise ActivityFailed(f"{report['corrupt_nodes']} corrupt graph nodes survived the restore")
    return report
