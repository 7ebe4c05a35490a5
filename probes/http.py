"""Probes of the control plane's runbook endpoints, over http or https (`drills.controlplane`).

Every probe opens a new connection, so consecutive probes reach different replicas behind the
shared address, as a load balancer's health checks would. An unreachable service is an answer
(`False`, `None`); a certificate the harness does not trust fails the probe, saying so: it is a
configuration problem, and must not look like an outage.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from chaoslib.exceptions import ActivityFailed

from drills.controlplane import paths
from drills.controlplane.connection import Endpoint, Reply, ask_fresh
from drills.controlplane.health import graphql_healthy, healthy
from drills.errors import ServiceError, ServiceTlsError, ServiceUnreachableError
from drills.targets.registry import target_from

__all__ = [
    "circuit_breaker_states",
    "circuit_breakers_closed",
    "databases",
    "graphql_answers_healthy",
    "graphql_health_check",
    "health_ok",
    "healthy_replica",
    "resilience_metrics",
]

Configuration = dict[str, Any]
Secrets = dict[str, Any]

# Chaos Toolkit's own logger: its extensions log there, and `chaostoolkit.log` (the run folder's,
# or a plain `chaos run`'s) is where a reader looks for why a steady state did not hold.
logger = logging.getLogger("chaostoolkit")
_BODY_SHOWN = 300  # characters of an unhealthy answer kept in the log


def _why_unhealthy(what: str, reply: Reply | None) -> None:
    """Log what a failed health probe saw: a probe's output is a bare `False`."""
    if reply is None:
        logger.warning("%s: no answer", what)
        return
    try:
        body = json.dumps(reply.json(), separators=(",", ":"))
    except ServiceError:
        body = reply.content.decode(errors="replace")
    logger.warning("%s: HTTP %s %s", what, reply.status, body[:_BODY_SHOWN])


def _ask(
    configuration: Configuration | None,
    method: str,
    path: str,
    timeout: float,
    payload: Any = None,
) -> Reply | None:
    """The answer, or None when the service gave none; a TLS problem fails the activity."""
    endpoint = Endpoint.of(target_from(configuration))
    try:
        return ask_fresh(endpoint, method, path, timeout, payload=payload)
    except ServiceTlsError as exc:
        raise ActivityFailed(str(exc)) from exc
    except ServiceUnreachableError:
        return None


def _json(configuration: Configuration | None, path: str, timeout: float) -> dict[str, Any]:
    """A GET that must answer 2xx with a JSON object."""
    reply = _ask(configuration, "GET", path, timeout)
    if reply is None:
        raise ActivityFailed(f"GET {path}: no answer")
    if not reply.ok:
        raise ActivityFailed(f"GET {path}: HTTP {reply.status}")
    try:
        body = reply.json()
    except ServiceError as exc:
        raise ActivityFailed(f"GET {path}: {exc}") from exc
    if not isinstance(body, dict):
        raise ActivityFailed(f"GET {path}: the answer is not a JSON object")
    return body


def health_ok(
    timeout: float = 2.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> bool:
    """True when `GET /health` answers 2xx (runbook: primary health check)."""
    reply = _ask(configuration, "GET", paths.HEALTH, timeout)
    ok = reply is not None and healthy(reply)
    if not ok:
        _why_unhealthy(f"GET {paths.HEALTH}", reply)
    return ok


def healthy_replica(
    timeout: float = 2.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> str | None:
    """Which replica answered a healthy `GET /health` ('' when it does not say); None if unhealthy."""
    reply = _ask(configuration, "GET", paths.HEALTH, timeout)
    if reply is None or not healthy(reply):
        return None
    return reply.replica or ""


def graphql_health_check(
    timeout: float = 2.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> bool:
    """True when `POST /graphql { healthCheck }` answers true (runbook: verify core functionality)."""
    reply = _graphql_health(timeout, configuration)
    ok = reply is not None and graphql_healthy(reply)
    if not ok:
        _why_unhealthy(f"POST {paths.GRAPHQL} healthCheck", reply)
    return ok


def graphql_answers_healthy(timeout: float, configuration: Configuration | None) -> bool:
    """`graphql_health_check` without the log line, for loops that wait for health."""
    reply = _graphql_health(timeout, configuration)
    return reply is not None and graphql_healthy(reply)


def _graphql_health(timeout: float, configuration: Configuration | None) -> Reply | None:
    return _ask(configuration, "POST", paths.GRAPHQL, timeout, paths.HEALTH_QUERY)


def circuit_breaker_states(
    timeout: float = 2.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, str]:
    """Each circuit breaker's state, upper-cased (`CLOSED`, `OPEN`, `HALF-OPEN`)."""
    body = _json(configuration, paths.CIRCUIT_BREAKERS, timeout)
    try:
        return {name: str(info["state"]).upper() for name, info in body.items()}
    except (KeyError, TypeError) as exc:
        raise ActivityFailed(f"GET {paths.CIRCUIT_BREAKERS}: no state in {body}") from exc


def circuit_breakers_closed(
    timeout: float = 2.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> bool:
    """True when every circuit breaker is CLOSED (runbook: all should be CLOSED)."""
    try:
        states = circuit_breaker_states(timeout, configuration, secrets)
    except ActivityFailed as exc:
        if isinstance(exc.__cause__, ServiceTlsError):
            raise
        logger.warning("%s", exc)
        return False
    not_closed = {name: state for name, state in states.items() if state != "CLOSED"}
    if not_closed or not states:
        logger.warning("%s: not closed: %s", paths.CIRCUIT_BREAKERS, not_closed or "no breakers")
    return bool(states) and not not_closed


def databases(
    timeout: float = 2.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """`GET /api/monitoring/databases` (runbook: database health)."""
    return _json(configuration, paths.MONITORING_DATABASES, timeout)


def resilience_metrics(
    timeout: float = 2.0, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """`GET /api/resilience/metrics`: breakers, connection pool, rate limiting."""
    return _json(configuration, paths.RESILIENCE_METRICS, timeout)
