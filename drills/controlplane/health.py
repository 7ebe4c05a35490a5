"""What "healthy" means for the control plane: the one definition the sampler, the probes, the
runner's preflight and the sandbox's own start-up checks all apply.

- `GET /health` answering 2xx: the runbook's primary health check (an HTTP signal);
- `POST /graphql { healthCheck }` answering 200 with `healthCheck: true`: core functionality;
- *serving*: healthy, or refusing with 503 only because maintenance mode is on (the runbook's
  data-corruption recovery scales replicas up while writes are still refused).
"""

from __future__ import annotations

from drills.controlplane import paths
from drills.controlplane.connection import Connection, Endpoint, Reply, ask_fresh
from drills.errors import ServiceUnreachableError

__all__ = [
    "ask_graphql_health",
    "ask_health",
    "graphql_healthy",
    "healthy",
    "serving",
    "steady",
]

MAINTENANCE = "maintenance"


def healthy(reply: Reply) -> bool:
    """An HTTP health answer: any 2xx."""
    return reply.ok


def graphql_healthy(reply: Reply) -> bool:
    """A GraphQL `{ healthCheck }` answer: 200 and `data.healthCheck` exactly true."""
    if reply.status != 200:
        return False
    data = reply.body.get("data")
    return isinstance(data, dict) and data.get("healthCheck") is True


def serving(reply: Reply) -> bool:
    """Up for traffic: healthy, or 503 only because of maintenance mode."""
    return healthy(reply) or (reply.status == 503 and reply.body.get("status") == MAINTENANCE)


def ask_health(conn: Connection, path: str = paths.HEALTH) -> Reply:
    """`GET /health` (or another HTTP health path) on `conn`."""
    return conn.request("GET", path)


def ask_graphql_health(conn: Connection, path: str = paths.GRAPHQL) -> Reply:
    """`POST /graphql { healthCheck }` on `conn`."""
    return conn.request("POST", path, paths.HEALTH_QUERY)


def steady(endpoint: Endpoint, timeout_seconds: float) -> bool:
    """Both health checks pass, each on a fresh connection (the runner's preflight). No answer
    is False; a certificate not trusted is raised (`ServiceTlsError`)."""
    try:
        return healthy(ask_fresh(endpoint, "GET", paths.HEALTH, timeout_seconds)) and (
            graphql_healthy(
                ask_fresh(
                    endpoint, "POST", paths.GRAPHQL, timeout_seconds, payload=paths.HEALTH_QUERY
                )
            )
        )
    except ServiceUnreachableError:
        return False
