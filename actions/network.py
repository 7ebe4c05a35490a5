"""Break or heal the network path from the service to a database (a TCP fault, not a crash).

The database keeps running and answers anyone who reaches it directly; only the service's path to
it is cut (`blackhole`), slowed (`latency`) or reset (`reset`). On the sandbox that is the fault
proxy in front of PostgreSQL and Redis; other targets do it their own way.
"""

from __future__ import annotations

from typing import Any

from chaoslib.exceptions import ActivityFailed

from drills.errors import DrillError
from drills.targets.base import Component, NetworkFault
from drills.targets.registry import target_from

__all__ = ["heal_network", "set_network_fault"]

Configuration = dict[str, Any]
Secrets = dict[str, Any]

DATABASES = ["postgres", "postgres-standby", "redis", "neo4j"]


def _parse(component: str, fault: str) -> tuple[Component, NetworkFault]:
    try:
        return Component(component), NetworkFault(fault)
    except ValueError:
        faults = ", ".join(f.value for f in NetworkFault)
        components = ", ".join(c.value for c in Component)
        raise ActivityFailed(
            f"unknown component {component!r} or fault {fault!r} "
            f"(components: {components}; faults: {faults})"
        ) from None


def set_network_fault(
    component: str,
    fault: str,
    latency_ms: int = 0,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Put a network fault on the path from the service to `component`; in force on return."""
    which, kind = _parse(component, fault)
    try:
        target_from(configuration).set_network_fault(which, kind, int(latency_ms))
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    return {"component": which.value, "fault": kind.value, "latency_ms": int(latency_ms)}


def heal_network(
    components: list[str] | None = None,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> list[str]:
    """Let traffic pass again to each component (default: every database); safe when healthy."""
    target = target_from(configuration)
    healed: list[str] = []
    for name in components or DATABASES:
        which, _ = _parse(name, NetworkFault.NONE.value)
        try:
            target.set_network_fault(which, NetworkFault.NONE)
        except DrillError as exc:
            raise ActivityFailed(str(exc)) from exc
        healed.append(which.value)
    return healed
