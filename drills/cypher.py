"""Cypher over the Redis protocol (FalkorDB's `GRAPH.QUERY`): parameters in, rows out.

The sandbox's graph store is FalkorDB; its own Python client pins `python-dateutil<3`, which the
`kubernetes` client cannot live with, so the plain `redis` client sends the queries and this module
does the two things that client does not: it writes query parameters the way FalkorDB reads them
(a `CYPHER name=value ...` prefix, never values pasted into the query text) and turns a reply into
rows. One place for both, used by the service (async) and the harness (sync) alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "GRAPH_QUERY",
    "SERVICE_GRAPH",
    "CypherParameterError",
    "Value",
    "literal",
    "nodes_created",
    "parameterised",
    "rows",
]

GRAPH_QUERY = "GRAPH.QUERY"
SERVICE_GRAPH = "maestro"  # the graph the reference service keeps its nodes in

Value = str | int | float | bool | None


class CypherParameterError(ValueError):
    """A parameter value that cannot be sent to the graph store (a NUL character, NaN)."""


def literal(value: Value) -> str:
    """`value` as a Cypher literal FalkorDB reads back exactly (strings: `"` and `\\` escaped;
    every other character, newlines and non-ASCII included, travels as it is)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CypherParameterError(f"{value} cannot be a Cypher parameter")
        return repr(value)
    if "\x00" in value:
        raise CypherParameterError("a NUL character cannot be stored in the graph")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parameterised(query: str, params: Mapping[str, Value]) -> str:
    """The query with its parameters in FalkorDB's `CYPHER a=1 b="x" <query>` form."""
    if not params:
        return query
    for name in params:
        if not name.isidentifier():
            raise CypherParameterError(f"{name!r} is not a parameter name")
    head = " ".join(f"{name}={literal(value)}" for name, value in params.items())
    return f"CYPHER {head} {query}"


def rows(reply: Any) -> list[tuple[Any, ...]]:
    """The result rows of a `GRAPH.QUERY` reply (header, rows, statistics); byte strings decoded.

    A query that returns nothing (a write without RETURN) has only statistics: no rows."""
    if not isinstance(reply, Sequence) or len(reply) < 3:
        return []
    return [tuple(_decoded(cell) for cell in row) for row in reply[1]]


def nodes_created(reply: Any) -> int:
    """The `Nodes created: N` statistic of a `GRAPH.QUERY` reply (0 when absent)."""
    if not isinstance(reply, Sequence) or not reply:
        return 0
    for line in reply[-1]:
        text = _decoded(line)
        if isinstance(text, str) and text.startswith("Nodes created:"):
            return int(text.split(":", 1)[1])
    return 0


def _decoded(cell: Any) -> Any:
    if isinstance(cell, bytes):
        return cell.decode("utf-8")
    return cell
