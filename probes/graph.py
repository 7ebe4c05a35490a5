"""Read-only checks of the graph store (the runbook's Neo4j): reachability and node integrity.

They reach the graph where the target's own graph signal does (`SignalKind.GRAPH`: the sandbox's
FalkorDB, Cypher over the Redis protocol). Every canary record the service acknowledged is a node
`(:CanaryRecord {stream, seq, payload, checksum})`; a node whose checksum does not match its content
is corrupt. Nothing here changes the target.
"""

from __future__ import annotations

from typing import Any

import redis
from chaoslib.exceptions import ActivityFailed

from drills.canary import checksum
from drills.cypher import GRAPH_QUERY, SERVICE_GRAPH, Value, parameterised, rows
from drills.targets.base import SignalKind
from drills.targets.registry import target_from

__all__ = ["graph_integrity_check", "graph_query"]

Configuration = dict[str, Any]
Secrets = dict[str, Any]

_ALL_RECORDS = "MATCH (r:CanaryRecord) RETURN r.stream, r.seq, r.payload, r.checksum"


def graph_query(
    configuration: Configuration | None, cypher: str, params: dict[str, Value] | None = None
) -> list[tuple[Any, ...]]:
    """Rows of one Cypher query on the service's graph, where the target's graph signal points."""
    target = target_from(configuration)
    address = next((s.address for s in target.signals() if s.kind is SignalKind.GRAPH), None)
    if address is None:
        raise ActivityFailed(f"target {target.name} names no graph store (neo4j signal)")
    if not address.startswith(("redis://", "rediss://")):
        raise ActivityFailed(
            f"the graph store at {address.split('@')[-1]} speaks no Redis protocol"
        )
    try:
        with redis.Redis.from_url(address, socket_timeout=10.0, socket_connect_timeout=3.0) as db:
            reply = db.execute_command(
                GRAPH_QUERY, SERVICE_GRAPH, parameterised(cypher, params or {})
            )
    except redis.RedisError as exc:
        raise ActivityFailed(f"cannot query the graph store: {exc}") from exc
    return rows(reply)


def graph_integrity_check(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Runbook: integrity check of the graph store. Canary nodes, and those whose stored checksum
    does not match their content (corrupt); `ok` when none is corrupt."""
    found = graph_query(configuration, _ALL_RECORDS)
    corrupt = sum(
        1
        for stream, seq, payload, stored in found
        if checksum(str(stream), int(seq), str(payload or "")) != stored
    )
    return {"nodes": len(found), "corrupt_nodes": corrupt, "ok": corrupt == 0}
