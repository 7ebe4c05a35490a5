"""Database connection faults (runbook scenario 2) and the runbook's long-query clean-up.

`break_database_connections` injects one fault, chosen by the experiment's configuration:

- `blackhole`, `latency`, `reset`: the network path from the service to a database is cut, slowed
  or reset (the database itself stays up and reachable directly): PostgreSQL, or the store the
  experiment names (`neo4j`, the graph store; `redis`);
- `pool-exhaustion`: a leaked transaction sits idle holding an exclusive lock on `runs` while a
  crowd of clients keeps reading it: every pooled connection waits behind the lock;
- `long-queries`: a long-running query holds share locks on the write path's tables, so writes
  queue up under steady write traffic until the pool is exhausted.

A lock alone exhausts nothing: it takes clients whose queries queue behind it. The crowds are
bounded loopback load (`drills.flood`) from their own address, ended by
`restore_database_connections` (the rollback) or by their own time limit.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from chaoslib.exceptions import ActivityFailed

from drills.actions.flood import start_flood, stop_flood
from drills.controlplane import paths
from drills.errors import DrillError
from drills.targets.base import Component, LockMode, NetworkFault, TableLockFaults
from drills.targets.registry import target_from

__all__ = [
    "ConnectionFault",
    "break_database_connections",
    "restore_database_connections",
    "terminate_long_queries",
]

Configuration = dict[str, Any]
Secrets = dict[str, Any]

CLIENTS = "app-clients"  # the flood name of the client crowd
CLIENT_SOURCE = "127.0.0.21"


class ConnectionFault(StrEnum):
    BLACKHOLE = "blackhole"
    LATENCY = "latency"
    RESET = "reset"
    POOL_EXHAUSTION = "pool-exhaustion"
    LONG_QUERIES = "long-queries"


def _locking(configuration: Configuration | None) -> TableLockFaults:
    target = target_from(configuration)
    if not isinstance(target, TableLockFaults):
        raise ActivityFailed(f"target {target.name} cannot hold PostgreSQL table locks")
    return target


def break_database_connections(
    fault: str = "blackhole",
    store: str = "postgres",
    latency_ms: int = 800,
    hold_seconds: float = 45.0,
    clients: int = 48,
    client_rate_per_second: float = 40.0,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Break the service's connections to a database with one fault (see the module docstring):
    to `store` (postgres, neo4j or redis) for the network faults; the lock faults are PostgreSQL's.

    Locks are held at most `hold_seconds`; the client crowd (`clients` connections, at most
    `client_rate_per_second` requests a second) stops by itself after the same time.
    """
    try:
        kind = ConnectionFault(fault)
    except ValueError:
        known = ", ".join(f.value for f in ConnectionFault)
        raise ActivityFailed(f"unknown connection fault {fault!r} (known: {known})") from None
    stores = (Component.POSTGRES, Component.NEO4J, Component.REDIS)
    if store not in {c.value for c in stores}:
        known = ", ".join(c.value for c in stores)
        raise ActivityFailed(f"unknown database {store!r} to break (known: {known})")
    target = target_from(configuration)
    network = (ConnectionFault.BLACKHOLE, ConnectionFault.LATENCY, ConnectionFault.RESET)
    if kind not in network and store != Component.POSTGRES.value:
        raise ActivityFailed(f"{kind.value} is a PostgreSQL fault, not one of {store}")
    try:
        if kind in network:
            delay = int(latency_ms) if kind is ConnectionFault.LATENCY else 0
            target.set_network_fault(Component(store), NetworkFault(kind.value), delay)
            return {"fault": kind.value, "store": store, "latency_ms": delay}
        if kind is ConnectionFault.POOL_EXHAUSTION:
            pid = _locking(configuration).hold_table_locks(
                ["runs"], LockMode.ACCESS_EXCLUSIVE, float(hold_seconds), busy=False
            )
            path, method, body = f"{paths.RUNS}?limit=1", "GET", None
        else:
            pid = _locking(configuration).hold_table_locks(
                ["canary_records", "runs"], LockMode.SHARE, float(hold_seconds), busy=True
            )
            path, method, body = paths.RUNS, "POST", '{"name": "drill-load", "status": "ok"}'
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    crowd = start_flood(
        path=path,
        method=method,
        body=body,
        sources=[CLIENT_SOURCE],
        connections=int(clients),
        requests_per_connection=0,
        rate_per_second=float(client_rate_per_second),
        max_seconds=float(hold_seconds),
        name=CLIENTS,
        configuration=configuration,
    )
    return {"fault": kind.value, "lock_holder_pid": pid, "clients": crowd["plan"]}


def restore_database_connections(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Undo every connection fault: heal the network path, end lock holders and client crowds.

    Safe on a healthy system (a rollback): each part is a no-op when nothing is broken.
    """
    target = target_from(configuration)
    try:
        for component in (Component.POSTGRES, Component.POSTGRES_STANDBY, Component.NEO4J):
            target.set_network_fault(component, NetworkFault.NONE)
        released = target.release_table_locks() if isinstance(target, TableLockFaults) else 0
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    crowd = stop_flood(name=CLIENTS, configuration=configuration)
    return {"lock_holders_ended": released, "clients": crowd.get("report")}


def terminate_long_queries(
    older_than_seconds: float = 300.0,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> list[int]:
    """End PostgreSQL queries (and open transactions) running longer than the threshold
    (runbook: check pg_stat_activity for long-running queries); returns their backend pids."""
    try:
        return target_from(configuration).terminate_long_queries(float(older_than_seconds))
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
