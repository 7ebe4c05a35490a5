"""The target driver interface: the only place where a platform's specifics live.

Probes and actions (and the runner) talk to a `Target`; the sandbox and the Kubernetes driver
implement it. Everything that is plain HTTP against the control plane (health, GraphQL, breaker
reset, canary writes) is target-agnostic and lives outside the drivers, in `drills.controlplane`;
a driver only says where its control plane is and which certificates to trust there, and does what
needs the platform: kill, restart, scale, back up, restore, read logs.

What only some drivers can do is an optional capability: a runtime-checkable protocol below
(`TableLockFaults`, `FreezeFaults`, `BackupFreshness`, `ScratchRestore`, `InfrastructureRebuild`,
`ClusterEvents`) that callers test with `isinstance`, never a method looked up by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from drills.clock import RunClock
from drills.controlplane.trust import SYSTEM_TRUST, TlsTrust


class Component(StrEnum):
    """The runbook's components, named as `drills sandbox restart` and profiles name them."""

    CONTROL_PLANE = "control-plane"
    POSTGRES = "postgres"
    POSTGRES_STANDBY = "postgres-standby"
    REDIS = "redis"
    MONITORING = "monitoring"  # Prometheus + Alertmanager (sandbox: only when installed)
    NEO4J = "neo4j"  # the graph store (FalkorDB in the sandbox, the profile's Neo4j in a cluster)


class TargetKind(StrEnum):
    """The kinds of target drills can drive (a profile's `kind:`)."""

    SANDBOX = "sandbox"
    KUBERNETES = "kubernetes"


class SignalKind(StrEnum):
    HTTP = "http"  # GET returns 2xx
    GRAPHQL = "graphql"  # POST { healthCheck } answers true
    POSTGRES = "postgres"  # SELECT 1 on the primary through the read-write path
    REDIS = "redis"  # PING
    GRAPH = "graph"  # a Cypher `RETURN 1` (GRAPH.QUERY on FalkorDB, Bolt on Neo4j)


class NetworkFault(StrEnum):
    """Faults on the network path between the service and a database (a TCP fault proxy)."""

    NONE = "none"  # pass traffic through
    BLACKHOLE = "blackhole"  # accept, never forward, never answer
    LATENCY = "latency"  # forward with a delay per chunk
    RESET = "reset"  # reset every connection at once (RST)


@dataclass(frozen=True)
class SignalSpec:
    """A signal the sampler polls: what to ask, where, and whether its failure means 'down'."""

    name: str
    kind: SignalKind
    address: str  # URL for http/graphql, conninfo for postgres (no password), redis URL
    critical: bool = True
    trust: TlsTrust = SYSTEM_TRUST  # for an https URL: the certificates to accept


@dataclass(frozen=True)
class Backup:
    """A restorable point: a base backup (PostgreSQL) or a snapshot (Redis, the graph store)."""

    backup_id: str
    component: Component
    taken_at: datetime
    path: str | None = None
    size_bytes: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Target(Protocol):
    """A system under drill.

    Methods raise `drills.errors.TargetError` (or a subclass) when the platform refuses or fails;
    they never return error codes.
    """

    name: str
    kind: TargetKind

    @property
    def control_plane_url(self) -> str:
        """Base URL of the control-plane service (no trailing slash)."""
        ...

    @property
    def control_plane_tls(self) -> TlsTrust:
        """The certificates an https control plane may present (see `drills.controlplane`)."""
        ...

    def drill_lock(self) -> AbstractContextManager[object]:
        """Held for a whole drill: one drill per target at a time (`TargetBusyError` if taken)."""
        ...

    def signals(self) -> Sequence[SignalSpec]:
        """The critical (and informational) signals to sample during a drill."""
        ...

    def status(self) -> dict[str, Any]:
        """Per component: state, replicas/pids, address. JSON-safe."""
        ...

    def kill(self, component: Component) -> list[int]:
        """Crash every process/pod of a component for real (SIGKILL / grace 0). Returns ids."""
        ...

    def restart(
        self, component: Component, wait: bool = True, timeout_seconds: float = 120.0
    ) -> None:
        """Bring a component back (from a crash or running), data intact; wait until ready."""
        ...

    def scale(
        self, component: Component, replicas: int, wait: bool = True, timeout_seconds: float = 120.0
    ) -> None:
        """Run exactly `replicas` instances of a stateless component (0 stops it)."""
        ...

    def replicas(self, component: Component) -> int:
        """How many instances of a component run now."""
        ...

    def wait_ready(self, component: Component, timeout_seconds: float = 120.0) -> float:
        """Block until the component serves; returns seconds waited."""
        ...

    def logs(self, component: Component, lines: int = 100) -> str:
        """The tail of a component's logs."""
        ...

    def set_maintenance(self, enabled: bool) -> None:
        """Maintenance mode: the service refuses writes with 503."""
        ...

    def set_rate_limit(self, limit: str | None) -> None:
        """Per-client rate limit such as '50/second'; None restores the default."""
        ...

    def block_addresses(self, addresses: Sequence[str]) -> None:
        """Deny traffic from these client addresses (empty: unblock all)."""
        ...

    def take_backup(self, component: Component) -> Backup:
        """A fresh base backup (postgres) or snapshot (redis)."""
        ...

    def list_backups(self, component: Component) -> list[Backup]:
        """Restorable backups, oldest first."""
        ...

    def terminate_long_queries(self, older_than_seconds: float) -> list[int]:
        """End PostgreSQL queries running longer than this; returns their backend pids."""
        ...

    def promote_standby(self) -> None:
        """Promote the streaming standby ("second region") to a writable primary; wait for it."""
        ...

    def rebuild_standby(self) -> None:
        """Return to primary + streaming standby after a failover or restore (fail back)."""
        ...

    def restore_point_in_time(self, target_time: datetime) -> Backup:
        """PITR of PostgreSQL from the newest base backup before `target_time` plus the WAL
        archive, replacing the primary's data; returns the base backup used."""
        ...

    def restore_snapshot(self, component: Component, backup_id: str | None = None) -> Backup:
        """Restore a component (Redis) from a snapshot (newest when None)."""
        ...

    def verify_backup(self, backup_id: str) -> dict[str, Any]:
        """Check a base backup's integrity (pg_verifybackup); raises TargetError when broken."""
        ...

    def set_network_fault(
        self, component: Component, fault: NetworkFault, latency_ms: int = 0
    ) -> None:
        """Break (or heal, with NetworkFault.NONE) the network path from the service to it."""
        ...

    def close(self) -> None:
        """Release client resources (not the target itself)."""
        ...


class LockMode(StrEnum):
    """PostgreSQL table lock modes a drill can hold, by what they block."""

    SHARE = "SHARE"  # blocks writes (INSERT/UPDATE/DELETE), lets reads through
    ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"  # blocks reads and writes


@runtime_checkable
class TableLockFaults(Protocol):
    """Optional capability: hold PostgreSQL table locks from a session outside the service.

    The database-connection-failure drill's pool-exhaustion and long-running-query faults: the
    service's queries queue behind the locks until its pool is exhausted. `busy` makes the holder
    an active long-running query (`pg_sleep`), otherwise it sits idle in its transaction.
    """

    def hold_table_locks(
        self, tables: Sequence[str], mode: LockMode, hold_seconds: float, busy: bool = True
    ) -> int:
        """Take the locks (returns once they are held) and keep them; returns the backend pid."""
        ...

    def release_table_locks(self) -> int:
        """End every lock-holding session this driver started; returns how many were open."""
        ...


GraphValue = str | int | float | bool | None


@runtime_checkable
class GraphQueries(Protocol):
    """Optional capability: Cypher on the graph store (the runbook's Neo4j) from outside the
    service, as an operator runs it: the graph's integrity check and the data-corruption fault.

    The sandbox sends it to FalkorDB over the Redis protocol; the Kubernetes driver runs
    `cypher-shell` in the Neo4j pod. A `mutating` query in a dry run is planned, not run ([]).
    """

    def graph_query(
        self, cypher: str, params: Mapping[str, GraphValue], mutating: bool = False
    ) -> list[tuple[Any, ...]]:
        """The rows the query returns (strings decoded); TargetError when the store refuses."""
        ...


@runtime_checkable
class FreezeFaults(Protocol):
    """Optional capability: freeze a component's processes and let them go again.

    A hang, not a crash: the frozen server keeps its sockets, so connections are accepted by the
    kernel and requests queue until the thaw (a stuck event loop, a long GC pause, a SIGSTOP'd
    process). The most common real-world outage, and the hardest to time honestly.
    """

    def freeze(self, component: Component) -> list[int]:
        """Stop every process of the component where it stands (SIGSTOP). Returns ids."""
        ...

    def thaw(self, component: Component) -> list[int]:
        """Let every process of the component run again (SIGCONT). Returns ids."""
        ...


@runtime_checkable
class BackupFreshness(Protocol):
    """Optional capability: how old the newest backup and the newest restorable point are."""

    def backup_freshness(self) -> dict[str, Any]:
        """`backup_age_seconds`, `restorable_point_age_seconds`, `rpo_exposure_seconds`, ..."""
        ...


@runtime_checkable
class ScratchRestore(Protocol):
    """Optional capability: restore the newest backup into a scratch instance and compare it with
    the source while the system keeps serving (the runbook's backup-restore test)."""

    def test_restore(self) -> dict[str, Any]:
        """Restore, compare row counts and checksums; `verified`, `mismatches`, `tables`, ..."""
        ...

    def cleanup_scratch(self) -> list[str]:
        """Stop and delete scratch restores left behind; returns their names."""
        ...


@runtime_checkable
class InfrastructureRebuild(Protocol):
    """Optional capability: lose every server and rebuild from the backups (the annual drill)."""

    def destroy_infrastructure(self) -> dict[str, Any]:
        """Kill every server and delete its data; only the backups survive."""
        ...

    def rebuild_infrastructure(self) -> dict[str, Any]:
        """Rebuild what is gone from the backups (a no-op on a healthy target); its timings."""
        ...


@runtime_checkable
class ClusterEvents(Protocol):
    """Optional capability: the platform's own view of a drill (pod readiness as it changes, the
    events and logs of the drill window), merged into the measurement by `drills.clusterwatch`."""

    def readiness_samples(
        self,
        component: Component,
        clock: RunClock,
        *,
        timeout_seconds: float,
        should_stop: Any,
        required: int | None = None,
    ) -> Any:
        """Readiness samples of `component` as the platform reports its changes."""
        ...

    def drill_window(
        self, since: datetime, until: datetime, log_lines: int = 200
    ) -> dict[str, Any]:
        """The platform's events and the components' logs between `since` and `until`."""
        ...
