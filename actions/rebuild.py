"""The annual infrastructure-rebuild drill: lose every server, rebuild from the off-site backups.

Thin actions over the target's optional `InfrastructureRebuild` capability (a target without it
fails the activity saying so). The rebuild's timings are reported under
`drills.activity_measurements.REPORT_KEY`, beside the core measurements.
"""

from __future__ import annotations

from typing import Any

from chaoslib.exceptions import ActivityFailed

from drills.activity_measurements import REPORT_KEY
from drills.errors import DrillError
from drills.targets.base import InfrastructureRebuild
from drills.targets.registry import target_from

__all__ = ["destroy_infrastructure", "rebuild_infrastructure"]

Configuration = dict[str, Any]
Secrets = dict[str, Any]

# Rebuild timings shown in the report (whichever the rebuild produced).
_REPORTED = (
    "postgres_rebuild_seconds",
    "standby_clone_seconds",
    "redis_restore_seconds",
    "graph_restore_seconds",
    "rebuild_seconds",
)


def _rebuildable(configuration: Configuration | None, what: str) -> InfrastructureRebuild:
    target = target_from(configuration)
    if not isinstance(target, InfrastructureRebuild):
        raise ActivityFailed(f"target {target.kind} cannot {what}")
    return target


def destroy_infrastructure(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Fault: every server killed with SIGKILL and the data of the primary, the standby, Redis and
    the graph store (neo4j) deleted; only the backup bucket (base backups, WAL archive, snapshots) survives."""
    try:
        target = _rebuildable(configuration, "destroy infrastructure")
        result: dict[str, Any] = dict(target.destroy_infrastructure())
    except DrillError as exc:
        raise ActivityFailed(f"destroying the infrastructure failed: {exc}") from exc
    return result


def rebuild_infrastructure(
    report: bool = True, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Runbook: rebuild the databases from backups - PostgreSQL from the newest base backup and the
    whole WAL archive, promoted; the standby cloned from it; Redis and the graph store (neo4j) from
    their newest snapshots. Only
    what is gone is rebuilt (a healthy sandbox is left alone, so this is also a rollback). Its
    timings are reported unless `report` is false."""
    try:
        target = _rebuildable(configuration, "rebuild infrastructure")
        result: dict[str, Any] = dict(target.rebuild_infrastructure())
    except DrillError as exc:
        raise ActivityFailed(f"rebuilding the infrastructure failed: {exc}") from exc
    if report:
        result[REPORT_KEY] = {k: result[k] for k in _REPORTED if k in result}
    return result
