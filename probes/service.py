"""Read-only checks of the service's resilience state on every replica: breakers, pool, 429s.

Breakers, the connection pool and rate-limit counters are per replica (per pod), so each probe asks
on fresh connections until every replica has answered (see `drills.controlplane.every_replica`)
and returns the answers by replica. They report what they find and never raise because the service is unhealthy:
in the middle of an incident a diagnostic step that fails would only hide what it saw.
"""

from __future__ import annotations

from typing import Any

from drills.controlplane import paths
from drills.controlplane.connection import Endpoint, Reply, ask_fresh
from drills.controlplane.every_replica import ask_every_replica
from drills.errors import DrillError
from drills.targets.base import Component
from drills.targets.registry import target_from

__all__ = [
    "circuit_breakers_per_replica",
    "database_status",
    "pool_status",
    "rate_limit_status",
]

Configuration = dict[str, Any]
Secrets = dict[str, Any]


def _every_replica(
    configuration: Configuration | None, path: str, timeout_seconds: float
) -> dict[str, Reply] | str:
    target = target_from(configuration)
    try:
        replicas = max(1, target.replicas(Component.CONTROL_PLANE))
        return ask_every_replica(
            Endpoint.of(target), "GET", path, replicas, timeout_seconds=timeout_seconds
        )
    except DrillError as exc:
        return str(exc)


def circuit_breakers_per_replica(
    timeout_seconds: float = 5.0,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Every replica's breaker states (`CLOSED`, `OPEN`, `HALF-OPEN`), by replica."""
    answers = _every_replica(configuration, paths.RESILIENCE_HEALTH, timeout_seconds)
    if isinstance(answers, str):
        return {"error": answers}
    return {
        replica: {
            name: str(state).upper() for name, state in (answer.body.get("breakers") or {}).items()
        }
        for replica, answer in sorted(answers.items())
    }


def pool_status(
    timeout_seconds: float = 5.0,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Each replica's PostgreSQL pool (in_use, idle, capacity, waiting) from the runbook's
    `/api/resilience/metrics`, plus the worst utilisation seen."""
    answers = _every_replica(configuration, paths.RESILIENCE_METRICS, timeout_seconds)
    if isinstance(answers, str):
        return {"error": answers}
    pools = {
        replica: (answer.body.get("resilience") or {}).get("pool") or {}
        for replica, answer in sorted(answers.items())
    }
    ratios = [p["in_use"] / p["capacity"] for p in pools.values() if p.get("capacity")]
    return {"pools": pools, "max_utilisation": max(ratios) if ratios else None}


def rate_limit_status(
    timeout_seconds: float = 5.0,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Rate limiting on each replica: the limit in force, requests refused with 429 and 403,
    and the share of all requests answered 429 since the replica started."""
    answers = _every_replica(configuration, paths.RESILIENCE_METRICS, timeout_seconds)
    if isinstance(answers, str):
        return {"error": answers}
    per_replica: dict[str, Any] = {}
    requests = rejected = denied = 0
    for replica, answer in sorted(answers.items()):
        resilience = answer.body.get("resilience") or {}
        limit = resilience.get("rate_limit") or {}
        total = int(resilience.get("requests_total", 0))
        per_replica[replica] = {**limit, "requests_total": total}
        requests += total
        rejected += int(limit.get("rejected_total", 0))
        denied += int(limit.get("denied_total", 0))
    return {
        "replicas": per_replica,
        "requests_total": requests,
        "rate_limited_total": rejected,
        "denied_total": denied,
        "rate_limited_ratio": rejected / requests if requests else None,
    }


def database_status(
    timeout_seconds: float = 3.0,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """`GET /api/monitoring/databases` as the service sees its databases (runbook: check
    database status); the HTTP status is kept, an unhealthy answer is data, not an error."""
    target = target_from(configuration)
    try:
        answer = ask_fresh(Endpoint.of(target), "GET", paths.MONITORING_DATABASES, timeout_seconds)
    except DrillError as exc:
        return {"http_status": None, "error": str(exc)}
    return {"http_status": answer.status, **answer.body}
