"""Probes of the control plane's runbook endpoints, over plain HTTP."""

from __future__ import annotations

from typing import Any

import httpx

from drills.targets.registry import target_from

__all__ = [
    "circuit_breaker_states",
    "circuit_breakers_closed",
    "databases",
    "graphql_health_check",
    "health_ok",
    "healthy_replica",
    "resilience_metrics",
]

Configuration = dict[str, Any]
Secrets = dict[str, Any]


_client: httpx.Client | None = None


def _http() -> httpx.Client:
    """One client per process: building one loads a TLS trust store (~35 ms of CPU) each time.

    No keep-alive: every probe opens a new connection, so consecutive probes reach different
    replicas behind the shared port, as a load balancer's health checks would.
    """
    global _client
    if _client is None:
        _client = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))
    return _client


def _url(configuration: Configuration | None, path: str) -> str:
    return target_from(configuration).control_plane_url + path


def health_ok(
    timeout: float = 2.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> bool:
    """True when `GET /health` answers 2xx (runbook: primary health check)."""
    try:
        return _http().get(_url(configuration, "/health"), timeout=timeout).is_success
    except httpx.HTTPError:
        return False


def healthy_replica(
    timeout: float = 2.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> str | None:
    """Which replica answered a healthy `GET /health` ('' when it does not say); None if unhealthy."""
    try:
        response = _http().get(_url(configuration, "/health"), timeout=timeout)
        if not response.is_success:
            return None
        replica = response.json().get("replica")
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return "" if replica is None else str(replica)


def graphql_health_check(
    timeout: float = 2.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> bool:
    """True when `POST /graphql { healthCheck }` answers true (runbook: verify core functionality)."""
    try:
        response = _http().post(
            _url(configuration, "/graphql"), json={"query": "{ healthCheck }"}, timeout=timeout
        )
        return response.status_code == 200 and response.json()["data"]["healthCheck"] is True
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return False


def circuit_breaker_states(
    timeout: float = 2.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, str]:
    """Each circuit breaker's state, upper-cased (`CLOSED`, `OPEN`, `HALF-OPEN`)."""
    response = _http().get(_url(configuration, "/api/resilience/circuit-breakers"), timeout=timeout)
    response.raise_for_status()
    return {name: str(info["state"]).upper() for name, info in response.json().items()}


def circuit_breakers_closed(
    timeout: float = 2.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> bool:
    """True when every circuit breaker is CLOSED (runbook: all should be CLOSED)."""
    try:
        states = circuit_breaker_states(timeout, configuration, secrets)
    except (httpx.HTTPError, ValueError, KeyError, AttributeError):
        return False
    return bool(states) and all(state == "CLOSED" for state in states.values())


def databases(
    timeout: float = 2.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """`GET /api/monitoring/databases` (runbook: database health)."""
    response = _http().get(_url(configuration, "/api/monitoring/databases"), timeout=timeout)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def resilience_metrics(
    timeout: float = 2.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """`GET /api/resilience/metrics`: breakers, connection pool, rate limiting."""
    response = _http().get(_url(configuration, "/api/resilience/metrics"), timeout=timeout)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body
