"""Every operation of the Kubernetes driver, once: for dry-run and least-privilege checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import kmock
import pytest

from drills.clock import RunClock
from drills.errors import TargetError
from drills.targets.base import Component, NetworkFault
from drills.targets.kubernetes.driver import KubernetesTarget
from tests.k8s import objects as o
from tests.k8s.kube_server import KubeServer


def psql(pod: str, container: str | None, command: list[str]) -> tuple[str, str, int]:
    if "pg_terminate_backend" in command[-1]:
        return json.dumps([{"pid": 9, "terminated": True}]), "", 0
    return (
        json.dumps([{"pid": 9, "seconds": 400.0, "state": "active", "user": "u", "query": "q"}]),
        "",
        0,
    )


def prepare(cluster: KubeServer) -> None:
    """What the tour needs beyond the seeded namespace: controllers, logs, psql, an Ingress."""
    cluster.handler.rollout_delay_seconds = 0.002
    cluster.handler.job_outcome = "Complete"
    cluster.handler.exec_handler = psql
    cluster.handler.logs["postgresql-0"] = "2024-01-15T10:00:01Z LOG: ready\n"
    cluster.seed(kmock.resource("networking.k8s.io", "v1", "ingresses"), o.ingress("maestro"))
    cluster.seed(kmock.resource("", "v1", "services"), o.service("maestro"))
    cluster.seed(kmock.resource("", "v1", "nodes"), o.node("node-a"))
    cluster.seed(
        kmock.resource("", "v1", "events"), o.event("e1", "2024-01-15T10:00:00Z", "Killing")
    )


def tour(target: KubernetesTarget, hang_on: KubeServer | None = None) -> None:
    """Call every driver operation once, the way a drill would (lock first, unlock last).

    With `hang_on` (the live server), a backup Job also hangs past its wait, and closing the
    driver deletes it (a dry run has no Job to end)."""
    lock = target.lease(holder="tour/1/run")
    lock.acquire()
    lock.renew()
    target.snapshot()
    target.status()
    target.logs(Component.POSTGRES, lines=10)
    samples = target.readiness_samples(Component.CONTROL_PLANE, RunClock(), timeout_seconds=0.05)
    list(samples)
    target.restart(Component.CONTROL_PLANE, timeout_seconds=5)
    target.restart(Component.POSTGRES, timeout_seconds=5)
    target.scale(Component.CONTROL_PLANE, 3, timeout_seconds=5)
    target.scale(Component.POSTGRES, 1, timeout_seconds=5)
    target.set_resources(Component.POSTGRES, limits={"memory": "4Gi"}, timeout_seconds=5)
    target.wait_ready(Component.REDIS, timeout_seconds=5)
    target.kill_pods(Component.REDIS)
    target.block_addresses(["203.0.113.9"])
    target.block_addresses(["203.0.113.9", "203.0.113.10"])
    target.block_addresses([])
    target.set_maintenance(True)
    target.set_maintenance(True)
    target.set_maintenance(False)
    target.set_rate_limit("50/second")
    target.set_rate_limit(None)
    target.find_long_queries(300)
    target.terminate_long_queries(300)
    backup = target.take_backup(Component.POSTGRES, timeout_seconds=5)
    target.list_backups(Component.POSTGRES)
    target.restore(Component.POSTGRES, backup_id=backup.backup_id, timeout_seconds=5)
    target.restore_point_in_time(datetime.now(UTC), timeout_seconds=5)
    target.restore_snapshot(Component.POSTGRES, backup.backup_id, timeout_seconds=5)
    target.set_network_fault(Component.REDIS, NetworkFault.BLACKHOLE)
    target.set_network_fault(Component.REDIS, NetworkFault.NONE)
    now = datetime.now(UTC)
    target.drill_window(now - timedelta(minutes=5), now)
    target.signals()
    if hang_on is not None:
        hang_on.handler.job_outcome = None  # Jobs from now on never finish
        with pytest.raises(TargetError, match="not finished"):
            target.take_backup(Component.POSTGRES, timeout_seconds=0.3)
    lock.release()
    target.close()
    assert hang_on is None or len(target.ended_jobs) == 1
