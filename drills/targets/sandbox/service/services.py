"""Everything one replica holds while it runs, built once at start-up and shared by the handlers.

Also the background loops that keep a replica honest without traffic: the runtime-file poller and
a dependency prober, so breakers open when a database dies and close again when it is back even
if no request arrives (the harness reads breaker states from whichever replica answers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from drills.targets.sandbox.service.config import ServiceConfig
from drills.targets.sandbox.service.graph_store import GraphStore, is_graph_failure
from drills.targets.sandbox.service.guard import Dependency, DependencyUnavailable, Guard
from drills.targets.sandbox.service.metrics import ServiceMetrics
from drills.targets.sandbox.service.postgres_store import (
    POOL_TIMEOUT_KINDS,
    PostgresStore,
    is_postgres_failure,
)
from drills.targets.sandbox.service.ratelimit import ClientRateLimiter
from drills.targets.sandbox.service.redis_store import RedisStore, is_redis_failure
from drills.targets.sandbox.service.runtime import RuntimeWatcher

__all__ = ["DependencyStatus", "Services", "Tallies", "services_of"]

log = logging.getLogger(__name__)

PROBE_INTERVAL_SECONDS = 0.5


@dataclass
class Tallies:
    """Plain counters for the JSON metrics endpoint (Prometheus has its own)."""

    requests_total: int = 0
    errors_total: int = 0  # answers with status >= 500
    rate_limited_total: int = 0
    denied_total: int = 0
    maintenance_rejected_total: int = 0
    redis_counter_failures_total: int = 0


@dataclass(frozen=True)
class DependencyStatus:
    dependency: Dependency
    up: bool
    latency_seconds: float
    error: str | None = None
    details: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": "up" if self.up else "down",
            "latency_seconds": round(self.latency_seconds, 6),
            "error": self.error,
        }
        out.update(self.details or {})
        return out


class Services:
    def __init__(self, config: ServiceConfig, replica: int) -> None:
        self.config = config
        self.replica = replica
        self.started_at = time.monotonic()

        def guard(
            dependency: Dependency,
            is_failure: Callable[[BaseException], bool],
            pool_timeout_kinds: tuple[type[BaseException], ...] = (),
        ) -> Guard:
            """Every store's breaker trips and resets on the same configured counts."""
            return Guard(
                dependency,
                fail_max=config.breaker_fail_max,
                reset_seconds=config.breaker_reset_seconds,
                is_failure=is_failure,
                pool_timeout_kinds=pool_timeout_kinds,
            )

        self.guards = {
            Dependency.POSTGRES: guard(
                Dependency.POSTGRES, is_postgres_failure, pool_timeout_kinds=POOL_TIMEOUT_KINDS
            ),
            Dependency.REDIS: guard(Dependency.REDIS, is_redis_failure),
        }
        self.postgres = PostgresStore(
            config.postgres_conninfo,
            guard=self.guards[Dependency.POSTGRES],
            pool_min=config.pool_min,
            pool_max=config.pool_max,
            timeout_seconds=config.request_timeout_seconds,
        )
        self.redis = RedisStore(
            config.redis_url,
            guard=self.guards[Dependency.REDIS],
            timeout_seconds=config.request_timeout_seconds,
        )
        self.graph: GraphStore | None = None  # a service configured without a graph store
        if config.neo4j_url:
            self.guards[Dependency.NEO4J] = guard(Dependency.NEO4J, is_graph_failure)
            self.graph = GraphStore(
                config.neo4j_url,
                guard=self.guards[Dependency.NEO4J],
                timeout_seconds=config.request_timeout_seconds,
            )
        self.runtime = RuntimeWatcher(config.runtime_path)
        self.limiter = ClientRateLimiter(config.default_rate_limit)
        self.tallies = Tallies()
        self.metrics = ServiceMetrics(self)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Open the pool (without waiting for PostgreSQL) and start the background loops."""
        self.runtime.poll()
        await self.postgres.open()
        self._tasks = [
            asyncio.create_task(self.runtime.run(), name="runtime-watcher"),
            asyncio.create_task(self._probe_forever(), name="dependency-prober"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.redis.close()
        if self.graph is not None:
            await self.graph.close()
        await self.postgres.close()

    async def check_postgres(self) -> DependencyStatus:
        started = time.monotonic()
        try:
            result = await self.postgres.ping()
        except DependencyUnavailable as exc:
            return DependencyStatus(
                Dependency.POSTGRES, False, time.monotonic() - started, error=str(exc)
            )
        return DependencyStatus(
            Dependency.POSTGRES,
            True,
            result["latency_seconds"],
            details={"in_recovery": result["in_recovery"]},
        )

    async def check_redis(self) -> DependencyStatus:
        started = time.monotonic()
        try:
            result = await self.redis.ping()
        except DependencyUnavailable as exc:
            return DependencyStatus(
                Dependency.REDIS, False, time.monotonic() - started, error=str(exc)
            )
        return DependencyStatus(Dependency.REDIS, True, result["latency_seconds"])

    async def check_graph(self, graph: GraphStore) -> DependencyStatus:
        started = time.monotonic()
        try:
            result = await graph.ping()
        except DependencyUnavailable as exc:
            return DependencyStatus(
                Dependency.NEO4J, False, time.monotonic() - started, error=str(exc)
            )
        return DependencyStatus(Dependency.NEO4J, True, result["latency_seconds"])

    async def check_all(self) -> dict[Dependency, DependencyStatus]:
        """A real PostgreSQL query, a Redis PING and a Cypher `RETURN 1` on the graph store (when
        the service has one), concurrently, within the request deadline."""
        checks = [self.check_postgres(), self.check_redis()]
        if self.graph is not None:
            checks.append(self.check_graph(self.graph))
        return {status.dependency: status for status in await asyncio.gather(*checks)}

    async def _probe_forever(self) -> None:
        while True:
            try:
                await self.check_all()
            except Exception:  # a bug here must not kill the loop; the next probe retries
                log.exception("dependency probe failed")
            await asyncio.sleep(PROBE_INTERVAL_SECONDS)


def services_of(request: Request) -> Services:
    """The replica's `Services`, stored on the app at start-up."""
    services: Services = request.app.state.services
    return services
