"""The runbook's "Alert Conditions", one name each, and which other alerts each one's fault may set
off as a consequence (those are not false alarms: a cut database path also fails requests).

The rules file names the condition a rule implements in its `runbook_condition` label.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CONSEQUENCES", "RUNBOOK_WORDING", "Condition"]


class Condition(StrEnum):
    SERVICE_UNAVAILABLE = "service-unavailable"
    ERROR_RATE = "error-rate"
    RESPONSE_TIME = "response-time"
    DATABASE_CONNECTION_FAILURES = "database-connection-failures"
    CIRCUIT_BREAKER_TRIPPED = "circuit-breaker-tripped"


RUNBOOK_WORDING: dict[Condition, str] = {
    Condition.SERVICE_UNAVAILABLE: "Service unavailable for > 1 minute",
    Condition.ERROR_RATE: "Error rate > 5% for > 2 minutes",
    Condition.RESPONSE_TIME: "Response time > 1s for > 3 minutes",
    Condition.DATABASE_CONNECTION_FAILURES: "Database connection failures",
    Condition.CIRCUIT_BREAKER_TRIPPED: "Circuit breakers tripping",
}

# A database that cannot be reached fails the requests that need it (/health reads both
# databases) and trips its breaker; a breaker trips because its database failed.
CONSEQUENCES: dict[Condition, frozenset[Condition]] = {
    Condition.SERVICE_UNAVAILABLE: frozenset(),
    Condition.ERROR_RATE: frozenset(),
    Condition.RESPONSE_TIME: frozenset(),
    Condition.DATABASE_CONNECTION_FAILURES: frozenset(
        {Condition.CIRCUIT_BREAKER_TRIPPED, Condition.ERROR_RATE}
    ),
    Condition.CIRCUIT_BREAKER_TRIPPED: frozenset(
        {Condition.DATABASE_CONNECTION_FAILURES, Condition.ERROR_RATE}
    ),
}
