"""The service's graph store access (the runbook's Neo4j; FalkorDB in the sandbox).

The real service keeps part of its data in Neo4j; ours writes every canary record as a node too,
so a drill measures what each store lost, not only PostgreSQL. A record is acknowledged only after
both stores have it (see `routes_data.post_record`): a node MERGEd on (stream, seq), written once
(a retried write keeps the first payload, as the PostgreSQL row does). The server speaks Cypher over
the Redis protocol (`GRAPH.QUERY`); every call goes through the neo4j `Guard` (breaker + deadline),
with one immediate retry on a stale pooled connection, as for Redis.
"""

from __future__ import annotations

import time
from typing import Any

from redis.exceptions import ResponseError

from drills.cypher import GRAPH_QUERY, SERVICE_GRAPH, Value, nodes_created, parameterised, rows
from drills.targets.sandbox.service.guard import Guard, remaining_seconds
from drills.targets.sandbox.service.postgres_store import CanaryRecord
from drills.targets.sandbox.service.redis_store import is_redis_failure, pooled_client

__all__ = ["GRAPH", "GraphStore", "is_graph_failure"]

GRAPH = SERVICE_GRAPH  # the graph the service's nodes live in (a key of the graph server)

# On `stream` alone: FalkorDB 4's composite range index on (stream, seq) loses the number 0 once
# the graph has been reloaded from a snapshot or AOF (a MERGE then misses seq 0 and an index scan
# skips it: tests/sandbox/test_graph_store.py), and every kill -9 and restore is such a reload.
_INDEX = "CREATE INDEX FOR (r:CanaryRecord) ON (r.stream)"
_MERGE = (
    "MERGE (r:CanaryRecord {stream: $stream, seq: $seq})"
    " ON CREATE SET r.sent_at = $sent_at, r.payload = $payload, r.checksum = $checksum"
)
_LIST = (
    "MATCH (r:CanaryRecord) WHERE r.stream = $stream AND r.seq > $after"
    " RETURN r.stream, r.seq, r.sent_at, r.payload, r.checksum ORDER BY r.seq LIMIT $limit"
)


def is_graph_failure(exc: BaseException) -> bool:
    """True when `exc` means the graph store failed (unreachable, timed out, refused), not the
    caller: it counts for the breaker. A query the engine rejects is the caller's mistake."""
    if isinstance(exc, ResponseError):
        return "LOADING" in str(exc) or "NOAUTH" in str(exc)
    return is_redis_failure(exc)


class GraphStore:
    def __init__(self, url: str, *, guard: Guard, timeout_seconds: float) -> None:
        self.guard = guard
        self.timeout_seconds = timeout_seconds
        self.client = pooled_client(url, timeout_seconds)
        self._indexed = False

    async def close(self) -> None:
        await self.guard.drain()
        await self.client.aclose()

    async def _query(self, cypher: str, params: dict[str, Value]) -> Any:
        """The raw reply of one query (see `drills.cypher.rows`, `nodes_created`)."""

        async def operation() -> Any:
            if not self._indexed:  # once per replica; a restored or rebuilt graph gets it again
                try:
                    # redis-py leaves execute_command untyped; GRAPH.QUERY has no typed method
                    await self.client.execute_command(  # type: ignore[no-untyped-call]
                        GRAPH_QUERY, GRAPH, _INDEX
                    )
                except ResponseError as exc:
                    if "already indexed" not in str(exc):
                        raise
                self._indexed = True
            return await self.client.execute_command(  # type: ignore[no-untyped-call]
                GRAPH_QUERY, GRAPH, parameterised(cypher, params)
            )

        try:
            return await self.guard.run(operation, remaining_seconds(self.timeout_seconds))
        except Exception:
            self._indexed = False  # the server may have come back empty: index again
            raise

    async def ping(self) -> dict[str, Any]:
        """A Cypher `RETURN 1` answered by the graph engine."""
        started = time.monotonic()
        await self._query("RETURN 1", {})
        return {"latency_seconds": time.monotonic() - started}

    async def merge_record(self, record: CanaryRecord) -> bool:
        """The record as a node; True when this call created it (False: it was there)."""
        reply = await self._query(
            _MERGE,
            {
                "stream": record.stream,
                "seq": record.seq,
                "sent_at": record.sent_at.isoformat(),
                "payload": record.payload,
                "checksum": record.checksum,
            },
        )
        return nodes_created(reply) > 0

    async def list_records(self, stream: str, after: int, limit: int) -> dict[str, Any]:
        """Nodes of `stream` with seq > `after`, by seq; `next` is the cursor for more (the same
        shape as `PostgresStore.list_records`)."""
        found = rows(
            await self._query(_LIST, {"stream": stream, "after": after, "limit": limit + 1})
        )
        more = len(found) > limit
        found = found[:limit]
        records = [
            {"stream": s, "seq": q, "sent_at": t, "payload": p, "checksum": c}
            for s, q, t, p, c in found
        ]
        return {"records": records, "next": found[-1][1] if more else None}
