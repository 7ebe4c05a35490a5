"""Read-only checks of the graph store (the runbook's Neo4j): reachability and node integrity.

Cypher goes where an operator would send it, through the target (`GraphQueries`: FalkorDB over
the Redis protocol in the sandbox, `cypher-shell` in the Neo4j pod on Kubernetes). Every canary
record the service acknowledged is a node `(:CanaryRecord {stream, seq, payload, checksum})`; a
node whose checksum does not match its content is corrupt. Nothing here changes the target.
"""

from __future__ import annotations

from typing import Any

from chaoslib.exceptions import ActivityFailed

from drills.canary import checksum
from drills.errors import DrillError
from drills.targets.base import GraphQueries, GraphValue
from drills.targets.registry import target_from

__all__ = ["graph_integrity_check", "graph_query", "graph_reachable"]

Configuration = dict[str, Any]
Secrets = dict[str, Any]

_ALL_RECORDS = "MATCH (r:CanaryRecord) RETURN r.stream, r.seq, r.payload, r.checksum"


def graph_query(
    configuration: Configuration | None,
    cypher: str,
    params: dict[str, GraphValue] | None = None,
    *,
    mutating: bool = False,
) -> list[tuple[Any, ...]]:
    """Rows of one Cypher query on the graph store, through the target (ActivityFailed when the
    target cannot run Cypher or the store refuses)."""
    target = target_from(configuration)
    if not isinstance(target, GraphQueries):
        raise ActivityFailed(f"target {target.name} cannot run Cypher on the graph store")
    try:
        return target.graph_query(cypher, params or {}, mutating)
    except DrillError as exc:
        raise ActivityFailed(f"cannot query the graph store: {exc}") from exc


def graph_reachable(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> bool:
    """True when the graph store answers a Cypher `RETURN 1`."""
    try:
        return graph_query(configuration, "RETURN 1") == [(1,)]
    except ActivityFailed:
        return False


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
