"""The service's pooled Redis client after a Redis restart: every pooled connection is then
closed by the old server, and the first command on each must be retried on a new connection, not
failed (a failed /health ping right after a redis restart made drills miss their steady state)."""

from __future__ import annotations

import asyncio

import pytest

from drills.targets.sandbox.service.redis_store import pooled_client
from tests.service.stack import Redis

pytestmark = pytest.mark.integration

POOLED = 8


def test_every_stale_pooled_connection_is_retried_after_a_restart(redis_server: Redis) -> None:
    async def scenario() -> list[object]:
        client = pooled_client(redis_server.url, 2.0)
        try:
            await asyncio.gather(*(client.ping() for _ in range(POOLED)))  # POOLED connections
            redis_server.stop()
            redis_server.start()
            # one at a time, so each takes a stale connection from the pool in turn
            return [await client.ping() for _ in range(POOLED)]
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == [True] * POOLED
