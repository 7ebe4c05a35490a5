"""The service's Redis access: PING for health and the canary's side counter.

redis-py's asyncio client keeps its own small connection pool; one immediate retry on a connection
error lets a stale pooled socket (after a Redis restart) reconnect instead of failing the call.
Every call goes through the redis `Guard` (breaker + deadline).
"""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import DataError, RedisError

from drills.targets.sandbox.service.guard import Guard, remaining_seconds

__all__ = ["RECORDS_COUNTER_KEY", "RedisStore", "is_redis_failure"]

RECORDS_COUNTER_KEY = "maestro:canary:records_total"
COUNTER_BUDGET_SECONDS = (
    0.25  # a write already committed in PostgreSQL waits at most this for Redis
)


def is_redis_failure(exc: BaseException) -> bool:
    """True when `exc` means Redis (not the caller) failed: it counts for the breaker."""
    return isinstance(exc, OSError | TimeoutError | RedisError) and not isinstance(exc, DataError)


def pooled_client(url: str, timeout_seconds: float) -> aredis.Redis:
    """A pooled client over the Redis protocol (Redis, and the graph store), retrying at once on
    a stale pooled connection after the server restarted: twice, since the first reconnect can
    still be closed by a server that is just starting. The retry must be asyncio's own: the
    synchronous `redis.retry.Retry` accepted here returns the coroutine unawaited, so it never
    retried, and the first command on each stale connection failed (a /health 503 right after
    every replica had answered healthy again)."""
    return aredis.Redis.from_url(
        url,
        socket_connect_timeout=timeout_seconds,
        socket_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 2),
        max_connections=64,
    )


class RedisStore:
    def __init__(self, url: str, *, guard: Guard, timeout_seconds: float) -> None:
        self.guard = guard
        self.timeout_seconds = timeout_seconds
        self.client = pooled_client(url, timeout_seconds)

    async def close(self) -> None:
        await self.guard.drain()
        await self.client.aclose()

    async def ping(self) -> dict[str, Any]:
        started = time.monotonic()

        async def operation() -> Any:
            return await self.client.ping()

        await self.guard.run(operation, remaining_seconds(self.timeout_seconds))
        return {"latency_seconds": time.monotonic() - started}

    async def count_record(self) -> int:
        """INCR the canary counter, within a short budget (the write is already committed)."""

        async def operation() -> Any:
            return await self.client.incr(RECORDS_COUNTER_KEY)

        budget = min(COUNTER_BUDGET_SECONDS, remaining_seconds(self.timeout_seconds))
        return int(await self.guard.run(operation, budget))
