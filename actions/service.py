"""The runbook's operator actions on the running service: breakers, rate limit, deny list, maintenance.

Breaker resets are plain HTTP against the service's runbook endpoint; because every replica keeps its
own breakers (as every pod does), a reset is repeated on fresh connections until each replica has
answered. Rate limit, deny list and maintenance mode are platform configuration (an ingress rule,
a network policy, a ConfigMap), so the target driver applies them. The breaker watch measures how
long any breaker was OPEN during a drill and reports it as `breaker_open_seconds`.
"""

from __future__ import annotations

from typing import Any

from chaoslib.exceptions import ActivityFailed

from drills.activity_measurements import REPORT_KEY
from drills.background import Slot
from drills.breakerwatch import BreakerWatch
from drills.controlplane import paths
from drills.controlplane.connection import Endpoint
from drills.controlplane.every_replica import ask_every_replica
from drills.errors import DrillError
from drills.targets.base import Component
from drills.targets.registry import target_from

__all__ = [
    "block_addresses",
    "clear_rate_limit",
    "reset_circuit_breaker",
    "set_maintenance",
    "set_rate_limit",
    "stop_watching_circuit_breakers",
    "unblock_all_addresses",
    "watch_circuit_breakers",
]

Configuration = dict[str, Any]
Secrets = dict[str, Any]

_watches: Slot[BreakerWatch] = Slot("breaker-watch")


def reset_circuit_breaker(
    name: str = "postgres",
    timeout_seconds: float = 10.0,
    only_if_present: bool = False,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, str]:
    """Reset one circuit breaker on every replica (runbook: POST .../circuit-breakers/NAME/reset).

    Returns each replica's breaker state right after its reset; fails unless all say CLOSED.
    With `only_if_present`, a service with no such breaker on any replica (404 everywhere: it
    does not use that store) is said so (`{"*": "NOT PRESENT"}`) instead of failing.
    """
    target = target_from(configuration)
    try:
        replicas = max(1, target.replicas(Component.CONTROL_PLANE))
        answers = ask_every_replica(
            Endpoint.of(target),
            "POST",
            paths.breaker_reset(name),
            replicas,
            timeout_seconds=timeout_seconds,
        )
    except DrillError as exc:
        raise ActivityFailed(f"reset of the {name} breaker: {exc}") from exc
    if only_if_present and answers and all(a.status == 404 for a in answers.values()):
        return {"*": "NOT PRESENT"}
    states = {
        replica: str(answer.body.get("state", f"HTTP {answer.status}")).upper()
        for replica, answer in answers.items()
    }
    failed = {r: s for r, s in states.items() if s != "CLOSED"}
    if failed:
        raise ActivityFailed(f"the {name} breaker did not close on reset: {failed}")
    return states


def set_rate_limit(
    limit: str,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> str:
    """Apply a per-client rate limit such as '150/second' (runbook: stricter rate limiting)."""
    try:
        target_from(configuration).set_rate_limit(limit)
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    return limit


def clear_rate_limit(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> str:
    """Restore the default rate limit."""
    try:
        target_from(configuration).set_rate_limit(None)
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    return "default"


def block_addresses(
    addresses: list[str],
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> list[str]:
    """Deny every request from these client addresses (runbook: block malicious IPs)."""
    if not addresses:
        raise ActivityFailed("name at least one address to block")
    try:
        target_from(configuration).block_addresses([str(a) for a in addresses])
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    return [str(a) for a in addresses]


def unblock_all_addresses(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> list[str]:
    """Clear the deny list."""
    try:
        target_from(configuration).block_addresses([])
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    return []


def set_maintenance(
    enabled: bool,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> bool:
    """Maintenance mode on or off (writes are refused with 503 while on)."""
    try:
        target_from(configuration).set_maintenance(bool(enabled))
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    return bool(enabled)


def watch_circuit_breakers(
    interval_seconds: float = 0.05,
    max_seconds: float = 300.0,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> str:
    """Start watching every replica's breakers in the background (see `stop_watching_...`)."""
    target = target_from(configuration)
    try:
        watch = BreakerWatch(
            Endpoint.of(target), interval_seconds=interval_seconds, max_seconds=max_seconds
        )
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    previous = _watches.put(target.name, watch)
    if previous is not None:
        previous.stop()
    watch.start()
    return "watching"


def stop_watching_circuit_breakers(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Stop the breaker watch; reports `breaker_open_seconds` (time any breaker was OPEN on any
    replica) and the same per breaker. A no-op when no watch runs."""
    watch = _watches.take(target_from(configuration).name)
    if watch is None:
        return {"watching": False}
    result = watch.stop()
    measured: dict[str, float | int | None] = {
        "breaker_open_seconds": round(result.open_seconds, 3),
    }
    for breaker, seconds in result.open_seconds_by_breaker.items():
        measured[f"{breaker}_breaker_open_seconds"] = round(seconds, 3)
    if result.pool_capacity:
        measured["db_pool_peak_in_use"] = result.pool_peak_in_use
    return {**result.to_json(), REPORT_KEY: measured}
