"""Prometheus metrics of one replica (`GET /metrics`).

Request counts and latencies are recorded as requests finish; breaker, pool and runtime state are
read at scrape time by a small collector, so a scrape always shows the state of that moment.
One registry per replica; every series carries the replica number. Each replica also answers on a
metrics port of its own (see `server.py`), so Prometheus scrapes every replica, not whichever one
the shared port's kernel balancing picks.

Database connection failures and breaker transitions are counters for the runbook's alert rules
(`drills/monitoring/rules.yml`); their label values are created at zero on start-up, because
`increase()` cannot see the first increment of a series that appears already at 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pybreaker
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from drills.targets.sandbox.service.guard import BreakerState, FailureKind

if TYPE_CHECKING:
    from drills.targets.sandbox.service.services import Services

__all__ = ["CONTENT_TYPE", "ServiceMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_BREAKER_STATE_VALUE = {"closed": 0.0, "half-open": 1.0, "open": 2.0}


class _StateCollector(Collector):
    def __init__(self, services: Services) -> None:
        self._services = services

    def collect(self) -> Iterator[GaugeMetricFamily]:
        services = self._services
        replica = str(services.replica)
        state = GaugeMetricFamily(
            "maestro_circuit_breaker_state",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
            labels=["replica", "breaker"],
        )
        failures = GaugeMetricFamily(
            "maestro_circuit_breaker_fail_counter",
            "Consecutive failures counted by the breaker.",
            labels=["replica", "breaker"],
        )
        for dependency, guard in services.guards.items():
            state.add_metric([replica, str(dependency)], _BREAKER_STATE_VALUE[str(guard.state)])
            failures.add_metric([replica, str(dependency)], guard.breaker.fail_counter)
        yield state
        yield failures
        pool = GaugeMetricFamily(
            "maestro_db_pool_connections",
            "PostgreSQL pool connections by state (in_use, idle, capacity, waiting).",
            labels=["replica", "state"],
        )
        for key, value in services.postgres.pool_stats().items():
            pool.add_metric([replica, key], value)
        yield pool
        maintenance = GaugeMetricFamily(
            "maestro_maintenance_mode", "1 while maintenance mode is on.", labels=["replica"]
        )
        maintenance.add_metric([replica], 1.0 if services.runtime.current.maintenance else 0.0)
        yield maintenance


class _TransitionCounter(pybreaker.CircuitBreakerListener):
    """Counts a breaker's state changes by the state entered."""

    def __init__(self, counter: Counter, replica: str) -> None:
        self._counter = counter
        self._replica = replica

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        if old_state is not None and old_state.name == new_state.name:
            return  # pybreaker re-enters "open" when a concurrent call fails; not a change
        self._counter.labels(self._replica, str(cb.name), str(new_state.name)).inc()


class ServiceMetrics:
    def __init__(self, services: Services) -> None:
        self.replica = str(services.replica)
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "maestro_http_requests",
            "HTTP requests answered, by route, method and status.",
            ["replica", "path", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "maestro_http_request_duration_seconds",
            "Time to answer an HTTP request, by route.",
            ["replica", "path"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.rejections = Counter(
            "maestro_rate_limit_rejections",
            "Requests refused: 429 over the rate limit, 403 denied address.",
            ["replica", "reason"],
            registry=self.registry,
        )
        self.redis_counter_failures = Counter(
            "maestro_redis_counter_failures",
            "Canary writes committed in PostgreSQL whose Redis counter update failed.",
            ["replica"],
            registry=self.registry,
        )
        self.connection_failures = Counter(
            "maestro_db_connection_failures",
            "Calls to a database that failed (unreachable, timed out, no connection), by kind.",
            ["replica", "database", "kind"],
            registry=self.registry,
        )
        self.breaker_transitions = Counter(
            "maestro_circuit_breaker_transitions",
            "Circuit breaker state changes, by the state entered.",
            ["replica", "breaker", "to"],
            registry=self.registry,
        )
        failure_kinds = [k for k in FailureKind if k is not FailureKind.CIRCUIT_OPEN]
        for dependency, guard in services.guards.items():
            database = str(dependency)
            for kind in failure_kinds:
                self.connection_failures.labels(self.replica, database, str(kind))
            for state in BreakerState:
                self.breaker_transitions.labels(self.replica, database, str(state))
            guard.failure_hooks.append(self._failure_counter(database))
            guard.breaker.add_listener(_TransitionCounter(self.breaker_transitions, self.replica))
        self.registry.register(_StateCollector(services))

    def _failure_counter(self, database: str) -> Callable[[FailureKind], None]:
        def count(kind: FailureKind) -> None:
            self.connection_failures.labels(self.replica, database, str(kind)).inc()

        return count

    def observe(self, path: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(self.replica, path, method, str(status)).inc()
        self.latency.labels(self.replica, path).observe(seconds)

    def rejected(self, reason: str) -> None:
        self.rejections.labels(self.replica, reason).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
