"""The sandbox target driver: the `Target` protocol over a local `Sandbox`."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis

from drills.controlplane import paths
from drills.controlplane.trust import TlsTrust
from drills.errors import SandboxError, TargetError
from drills.monitoring.capabilities import MonitoringEndpoints
from drills.monitoring.rules import RuleSet
from drills.monitoring.timing import Timing
from drills.targets.base import (
    Backup,
    Component,
    GraphValue,
    LockMode,
    NetworkFault,
    SignalKind,
    SignalSpec,
    TargetKind,
)
from drills.targets.sandbox.locks import TableLockHolder
from drills.targets.sandbox.monitoring import missing_packages
from drills.targets.sandbox.processes import Supervisor
from drills.targets.sandbox.stack import Sandbox
from drills.targets.sandbox.state import drill_lock

RUNTIME_PICKUP_SECONDS = 0.35  # replicas poll the runtime file every 0.25 s


class SandboxTarget:
    """Drives a sandbox running in `state_dir` (started by us or by `drills sandbox up`).

    `trust`: the certificates the harness accepts on the sandbox's https control plane (a
    profile's `services.control_plane_tls`); by default the CA the sandbox serves with.
    """

    kind = TargetKind.SANDBOX

    def __init__(
        self,
        state_dir: Path,
        *,
        supervisor: Supervisor | None = None,
        trust: TlsTrust | None = None,
    ) -> None:
        self.sandbox = Sandbox(state_dir, supervisor=supervisor)
        self.name = f"sandbox:{self.sandbox.layout.root}"
        self._trust = trust
        self._rate_limit: str | None = None
        self._deny: list[str] = []
        self._maintenance = False
        self._abort_share = 0.0
        self._delay_seconds = 0.0
        self._lock_holders: list[TableLockHolder] = []

    @property
    def control_plane_url(self) -> str:
        return self.sandbox.control_plane_url

    @property
    def control_plane_tls(self) -> TlsTrust:
        return self.sandbox.control_plane_trust if self._trust is None else self._trust

    def signals(self) -> Sequence[SignalSpec]:
        url, trust = self.control_plane_url, self.control_plane_tls
        return (
            SignalSpec("health", SignalKind.HTTP, url + paths.HEALTH, trust=trust),
            SignalSpec("graphql", SignalKind.GRAPHQL, url + paths.GRAPHQL, trust=trust),
            SignalSpec("postgres", SignalKind.POSTGRES, self.sandbox.postgres_conninfo()),
            SignalSpec("redis", SignalKind.REDIS, self.sandbox.redis_url()),
            SignalSpec("neo4j", SignalKind.GRAPH, self.sandbox.graph_url()),
        )

    def status(self) -> dict[str, Any]:
        return self.sandbox.status()

    def kill(self, component: Component) -> list[int]:
        return self.sandbox.kill(component)

    def freeze(self, component: Component) -> list[int]:
        return self.sandbox.freeze(component)

    def thaw(self, component: Component) -> list[int]:
        return self.sandbox.thaw(component)

    def restart(
        self, component: Component, wait: bool = True, timeout_seconds: float = 120.0
    ) -> None:
        self.sandbox.restart(component)

    def scale(
        self, component: Component, replicas: int, wait: bool = True, timeout_seconds: float = 120.0
    ) -> None:
        if component is not Component.CONTROL_PLANE:
            raise TargetError(f"only control-plane can be scaled, not {component.value}")
        self.sandbox.scale(replicas)

    def replicas(self, component: Component) -> int:
        info = self.sandbox.status()["components"].get(component.value, {})
        return len(info.get("pids", []))

    def wait_ready(self, component: Component, timeout_seconds: float = 120.0) -> float:
        started = time.monotonic()
        deadline = started + timeout_seconds
        while time.monotonic() < deadline:
            info = self.sandbox.status()["components"].get(component.value, {})
            if info.get("state") == "running":
                return time.monotonic() - started
            time.sleep(0.05)
        raise TargetError(f"{component.value} not ready after {timeout_seconds:.0f} s")

    def logs(self, component: Component, lines: int = 100) -> str:
        return self.sandbox.logs(component, lines)

    def _write_runtime(self) -> None:
        from drills.targets.sandbox.service.runtime import write_runtime

        write_runtime(
            self.sandbox.layout.runtime_config,
            maintenance=self._maintenance,
            rate_limit=self._rate_limit,
            deny=self._deny,
            abort_share=self._abort_share,
            delay_seconds=self._delay_seconds,
        )
        time.sleep(RUNTIME_PICKUP_SECONDS)  # in force on every replica when this returns

    def set_maintenance(self, enabled: bool) -> None:
        self._maintenance = enabled
        self._write_runtime()

    def set_rate_limit(self, limit: str | None) -> None:
        self._rate_limit = limit
        self._write_runtime()

    def block_addresses(self, addresses: Sequence[str]) -> None:
        self._deny = list(addresses)
        self._write_runtime()

    def set_http_faults(self, abort_share: float, delay_seconds: float) -> None:
        """Every replica answers `abort_share` of requests 500 and delays each one (monitoring
        drill); in force within about a quarter of a second."""
        self._abort_share = float(abort_share)
        self._delay_seconds = float(delay_seconds)
        self._write_runtime()

    def monitoring_endpoints(self) -> MonitoringEndpoints:
        reason = missing_packages()
        if reason:
            raise TargetError(f"this sandbox has no monitoring: {reason}")
        return self.sandbox.monitoring().endpoints()

    def configure_monitoring(self, timing: Timing, ruleset: RuleSet) -> None:
        """Rewrite and reload Prometheus and Alertmanager (started first if they are not)."""
        from drills.targets.sandbox.state import operation_lock

        self.monitoring_endpoints()  # says why not when the binaries are missing
        if self.sandbox.status()["components"]["monitoring"]["state"] != "running":
            self.sandbox.restart(Component.MONITORING)
        with operation_lock(self.sandbox.layout):
            self.sandbox.monitoring().apply(timing, ruleset)

    def take_backup(self, component: Component) -> Backup:
        taken = datetime.now(UTC)
        if component is Component.POSTGRES:
            path = self.sandbox.take_base_backup()
        elif component is Component.REDIS:
            path = self.sandbox.redis_snapshot()
        elif component is Component.NEO4J:
            path = self.sandbox.graph_snapshot()
        else:
            raise TargetError(f"{component.value} has no backups")
        return Backup(path.name, component, taken, str(path), _size(path))

    def list_backups(self, component: Component) -> list[Backup]:
        layout = self.sandbox.layout
        if component is Component.POSTGRES:
            paths = sorted(p for p in layout.base_backups.glob("*") if p.is_dir())
        elif component is Component.REDIS:
            paths = sorted(layout.redis_snapshots.glob("*.rdb"))
        elif component is Component.NEO4J:
            paths = sorted(layout.graph_snapshots.glob("*.rdb"))
        else:
            return []
        return [Backup(p.name, component, _stamp(p.name), str(p), _size(p)) for p in paths]

    def graph_query(
        self, cypher: str, params: Mapping[str, GraphValue], mutating: bool = False
    ) -> list[tuple[Any, ...]]:
        """Cypher on the graph store (FalkorDB, `GRAPH.QUERY` on the service's graph)."""
        from drills.cypher import GRAPH_QUERY, SERVICE_GRAPH, CypherParameterError, parameterised
        from drills.cypher import rows as rows_of

        try:
            query = parameterised(cypher, dict(params))
            with self.sandbox.graph().client(10.0) as client:
                reply = client.execute_command(GRAPH_QUERY, SERVICE_GRAPH, query)
        except (redis.RedisError, CypherParameterError) as exc:
            raise TargetError(f"the graph store (neo4j) refused the query: {exc}") from exc
        return rows_of(reply)

    def terminate_long_queries(self, older_than_seconds: float) -> list[int]:
        query = (
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE state <> 'idle' AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
            "AND now() - query_start > make_interval(secs => %s)"
        )
        try:
            with psycopg.connect(self.sandbox.postgres_conninfo(), autocommit=True) as conn:
                rows = conn.execute(query, (older_than_seconds,)).fetchall()
        except psycopg.Error as exc:
            raise TargetError(f"cannot reach PostgreSQL to end long queries: {exc}") from exc
        return [int(row[0]) for row in rows]

    # -- recovery: failover and fail-back (failover.py), restores and backup tests (recovery.py)

    def promote_standby(self) -> None:
        from drills.targets.sandbox import failover

        failover.promote_standby(self.sandbox)

    def rebuild_standby(self) -> None:
        from drills.targets.sandbox import failover

        failover.fail_back(self.sandbox)

    def restore_point_in_time(self, target_time: datetime) -> Backup:
        from drills.targets.sandbox import recovery

        done = recovery.restore_point_in_time(self.sandbox, target_time)
        return self._restored_from(Component.POSTGRES, done)

    def restore_snapshot(self, component: Component, backup_id: str | None = None) -> Backup:
        from drills.targets.sandbox import recovery

        if component is Component.REDIS:
            done = recovery.restore_redis_snapshot(self.sandbox, backup_id)
        elif component is Component.NEO4J:
            done = recovery.restore_graph_snapshot(self.sandbox, backup_id)
        else:
            raise TargetError(f"{component.value} has no snapshots to restore (redis, neo4j have)")
        return self._restored_from(component, done)

    def verify_backup(self, backup_id: str) -> dict[str, Any]:
        from drills.targets.sandbox import pitr
        from drills.targets.sandbox.processes import postgres_identity

        return pitr.verify_backup(self.sandbox.layout, backup_id, postgres_identity())

    # -- optional capabilities (drills.targets.base): backup freshness, scratch restore, rebuild

    def test_restore(self) -> dict[str, Any]:
        """Restore the newest base backup + WAL into a scratch instance and compare."""
        from drills.targets.sandbox import recovery

        return recovery.test_restore(self.sandbox)

    def backup_freshness(self) -> dict[str, Any]:
        """Ages of the newest base backup and of the newest restorable point (archived WAL)."""
        from drills.targets.sandbox import recovery

        return recovery.archive_status(self.sandbox)

    def cleanup_scratch(self) -> list[str]:
        """Stop and delete scratch restores left behind; returns their names."""
        from drills.targets.sandbox import pitr, recovery

        return pitr.stop_scratch_instances(recovery.scratch_root(self.sandbox))

    def destroy_infrastructure(self) -> dict[str, Any]:
        """kill -9 every server and delete their data; only the backup bucket survives."""
        from drills.targets.sandbox import rebuild

        return rebuild.destroy(self.sandbox)

    def rebuild_infrastructure(self) -> dict[str, Any]:
        """Rebuild the destroyed databases from the bucket (a no-op on a healthy sandbox)."""
        from drills.targets.sandbox import rebuild

        return rebuild.rebuild(self.sandbox)

    def _restored_from(self, component: Component, details: dict[str, Any]) -> Backup:
        for backup in self.list_backups(component):
            if backup.backup_id == details["backup_id"]:
                return Backup(
                    backup.backup_id,
                    component,
                    backup.taken_at,
                    backup.path,
                    backup.size_bytes,
                    details,
                )
        raise TargetError(f"restored from {details['backup_id']}, which is no longer listed")

    def set_network_fault(
        self, component: Component, fault: NetworkFault, latency_ms: int = 0
    ) -> None:
        """Switch the fault proxy's route to `component`; in force when this returns."""
        from drills.targets.sandbox.state import operation_lock

        with operation_lock(self.sandbox.layout):
            self.sandbox.fault_proxy().set_fault(component.value, fault, latency_ms)

    def network_faults(self) -> dict[str, Any]:
        """The fault proxy's routes as it reports them (fault, latency, open connections)."""
        routes: dict[str, Any] = self.sandbox.fault_proxy().status().get("routes", {})
        return routes

    @contextlib.contextmanager
    def drill_lock(self) -> Iterator[None]:
        """One drill per sandbox at a time; `sandbox down`/`restart` refuse while it is held."""
        self.sandbox.state()  # refuses a directory that holds no sandbox
        with drill_lock(self.sandbox.layout, "a drill"):
            yield

    def hold_table_locks(
        self, tables: Sequence[str], mode: LockMode, hold_seconds: float, busy: bool = True
    ) -> int:
        """A session on the primary holding table locks (a fault; see `locks.py`)."""
        holder = TableLockHolder(self.sandbox.postgres_conninfo(), tables, mode, hold_seconds, busy)
        pid = holder.start()
        self._lock_holders.append(holder)
        return pid

    def release_table_locks(self) -> int:
        holders, self._lock_holders = self._lock_holders, []
        return sum(1 for holder in holders if holder.release())

    def close(self) -> None:
        self.release_table_locks()


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _stamp(name: str) -> datetime:
    text = name.removeprefix("redis-").removeprefix("neo4j-").removesuffix(".rdb")
    try:
        return datetime.strptime(text, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise SandboxError(f"backup {name!r} has no timestamp in its name") from exc
