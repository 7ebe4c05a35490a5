"""Losing the whole sandbox and rebuilding it from the backup bucket alone (the annual drill).

`destroy` is the disaster: every server is killed with SIGKILL and the data directories of the
PostgreSQL primary, the standby, Redis and the graph store are deleted. Only the bucket (base
backups, WAL archive, Redis and graph snapshots: the off-site backups) and the sandbox's
configuration survive.

`rebuild` is the runbook's recovery from that bucket: PostgreSQL from the newest base backup with the
WAL archive replayed to its end (no recovery target: everything archived comes back), promoted; the
standby cloned afresh from it; Redis and the graph store from their newest snapshots (the graph's
are scheduled: what it lost is everything since the newest one). The control plane is stateless and is
started by the drill itself. What the archive never received - the primary's last, unarchived WAL
segment, at most about `archive_timeout` of commits - is gone: that is the real RPO exposure, and
the drill measures it instead of hiding it.
"""

from __future__ import annotations

import shutil
import time
from typing import Any

import psycopg

from drills.errors import DrillError, TargetError
from drills.targets.base import Component
from drills.targets.sandbox.failover import clone_standby
from drills.targets.sandbox.pgcluster import current_timeline, write_role_settings
from drills.targets.sandbox.pitr import base_backups, recover, recovery_settings, restore_copy
from drills.targets.sandbox.recovery import restore_graph_snapshot, restore_redis_snapshot
from drills.targets.sandbox.stack import Sandbox
from drills.targets.sandbox.state import SandboxState, operation_lock

__all__ = ["destroy", "rebuild"]

# Killed first to last: nothing is left to write to a database that is about to vanish.
_DESTROY_ORDER = (
    Component.CONTROL_PLANE,
    Component.POSTGRES,
    Component.POSTGRES_STANDBY,
    Component.REDIS,
    Component.NEO4J,
)


def destroy(box: Sandbox) -> dict[str, Any]:
    """kill -9 every server, then delete the primary's, the standby's, Redis's and the graph's data.

    The bucket is kept. Returns the pids killed per component and the directories deleted."""
    layout = box.layout
    with operation_lock(layout):
        state = box.state()
        killed: dict[str, list[int]] = {}
        for component in _DESTROY_ORDER:
            killed[component.value] = box.supervisor.crash(state.components[component].processes)
            box.record_processes(state, component, [])
        deleted: list[str] = []
        data_dirs = (layout.primary_data, layout.standby_data, layout.redis_data, layout.graph_data)
        for data_dir in data_dirs:
            if data_dir.exists():
                shutil.rmtree(data_dir)
                deleted.append(str(data_dir))
        return {"killed": killed, "deleted": deleted}


def rebuild(box: Sandbox) -> dict[str, Any]:
    """Rebuild from the bucket whatever `destroy` deleted; returns what it restored and timings.

    A missing primary comes from the newest base backup + the whole WAL archive, promoted; a
    missing (or stale, after a primary rebuild) standby is cloned from the primary; missing Redis
    data comes from the newest snapshot. Servers whose data is there are left alone, so this is
    also a safe rollback: on a healthy sandbox it does nothing."""
    layout = box.layout
    started = time.monotonic()
    out: dict[str, Any] = {"rebuilt": []}
    with operation_lock(layout):
        state = box.state()
        primary, standby = box.primary_server(state), box.standby_server(state)
        rebuilt_primary = not primary.initialised
        if rebuilt_primary:
            out.update(_restore_primary(box, state))
            out["rebuilt"].append(Component.POSTGRES.value)
        postgres_done = time.monotonic()
        if rebuilt_primary or not standby.initialised:
            box.ensure_running(state, Component.POSTGRES)
            clone_standby(box, state, primary, standby, Component.POSTGRES_STANDBY)
            out["rebuilt"].append(Component.POSTGRES_STANDBY.value)
            out["standby_clone_seconds"] = round(time.monotonic() - postgres_done, 6)
    if not (layout.redis_data / "appendonlydir").is_dir():
        redis = restore_redis_snapshot(box)
        out["rebuilt"].append(Component.REDIS.value)
        out.update(
            redis_snapshot=redis["backup_id"],
            redis_keys=redis["keys"],
            redis_restore_seconds=redis["restore_seconds"],
        )
    if not (layout.graph_data / "appendonlydir").is_dir():
        graph = restore_graph_snapshot(box)
        out["rebuilt"].append(Component.NEO4J.value)
        out.update(
            graph_snapshot=graph["backup_id"],
            graph_keys=graph["keys"],
            graph_restore_seconds=graph["restore_seconds"],
        )
    out["rebuild_seconds"] = round(time.monotonic() - started, 6)
    return out


def _restore_primary(box: Sandbox, state: SandboxState) -> dict[str, Any]:
    """The primary from the newest base backup and the WAL archive replayed to its end (no
    recovery target), promoted. The caller holds the operation lock."""
    layout = box.layout
    primary = box.primary_server(state)
    backups = base_backups(layout)
    if not backups:
        raise TargetError(f"no finished base backup in {layout.base_backups} to rebuild from")
    backup = backups[-1]
    for component in (Component.POSTGRES, Component.POSTGRES_STANDBY):
        box.supervisor.terminate(state.components[component].processes)
        box.record_processes(state, component, [])
    settings = recovery_settings(
        primary.port, layout.wal_archive, {}, archive_mode=True, fallback_wal=None
    )
    started = time.monotonic()
    try:
        restore_copy(backup, primary.data_dir, settings, primary.run_as)
        copied = time.monotonic()
        ref = primary.start(box.supervisor)
        box.record_processes(state, Component.POSTGRES, [ref])
        recover(primary, box.supervisor, ref)  # no target: replays to the end, promotes itself
    except (DrillError, psycopg.Error, OSError) as exc:
        raise TargetError(f"rebuilding postgres from {backup.backup_id} failed: {exc}") from exc
    done = time.monotonic()
    # the recovery settings go: a standby cloned from this primary must not inherit them
    write_role_settings(primary.data_dir, {"port": str(primary.port), "archive_mode": "on"})
    return {
        "backup_id": backup.backup_id,
        "timeline": current_timeline(primary.port),
        "copy_seconds": round(copied - started, 6),
        "recovery_seconds": round(done - copied, 6),
        "postgres_rebuild_seconds": round(done - started, 6),
    }
