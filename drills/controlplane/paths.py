"""The control-plane service's API, named once: its paths and the GraphQL health query.

The runbook's endpoints are what every probe, action, watcher and the sandbox's reference service
speak; a path spelled in two places drifts, so both sides read it from here.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BREAKER_RESET_ROUTE",
    "CIRCUIT_BREAKERS",
    "GRAPHQL",
    "HEALTH",
    "HEALTH_QUERY",
    "MONITORING_DATABASES",
    "PROMETHEUS_METRICS",
    "RECORDS",
    "RESILIENCE_HEALTH",
    "RESILIENCE_METRICS",
    "RUNS",
    "breaker_reset",
]

HEALTH: Final = "/health"
GRAPHQL: Final = "/graphql"
RESILIENCE_HEALTH: Final = "/api/resilience/health"
CIRCUIT_BREAKERS: Final = "/api/resilience/circuit-breakers"
BREAKER_RESET_ROUTE: Final = CIRCUIT_BREAKERS + "/{name}/reset"
RESILIENCE_METRICS: Final = "/api/resilience/metrics"
MONITORING_DATABASES: Final = "/api/monitoring/databases"
RECORDS: Final = "/api/records"  # the canary's stream
RUNS: Final = "/api/runs"  # business data
PROMETHEUS_METRICS: Final = "/metrics"

HEALTH_QUERY: Final = {"query": "{ healthCheck }"}


def breaker_reset(name: str) -> str:
    """The path that resets circuit breaker `name`."""
    return BREAKER_RESET_ROUTE.format(name=name)
