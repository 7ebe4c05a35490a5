"""Integrity of the service's data, computed in SQL: bad checksums, row counts, content digests.

The runbook's data-corruption scenario starts from "database consistency check failures" and ends
with "verify data integrity post-restore"; the backup-restore test compares a restored copy with its
source. All three need the same facts about the two business tables, computed the same way on any
PostgreSQL (the live primary, a point-in-time restore, a scratch instance), so they live here once:

- a row is *corrupt* when its stored checksum is not what its content hashes to (the canary's rule
  for `canary_records`, the service's rule for `runs`);
- a table's *digest* is an order-independent sum of per-row hashes over every column that matters,
  so two copies hold the same rows exactly when count and digest agree;
- the *last good time* is just before the commit of the oldest corrupt row version: with
  `track_commit_timestamp` on, PostgreSQL knows when each row version was committed, which is how a
  DBA finds the point to restore to without trusting anyone's memory of the incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from drills.errors import TargetError

__all__ = [
    "TABLES",
    "TableFacts",
    "bad_rows_where",
    "last_good_time",
    "table_facts",
]

# Per table: the key, the expression the checksum must equal, and the row's content for digests.
_CANARY_HASH = (
    "encode(sha256(convert_to(stream || '|' || seq::text || '|' || coalesce(payload, ''), "
    "'UTF8')), 'hex')"
)
_RUNS_HASH = (
    "encode(sha256(convert_to(coalesce(name, '') || '|' || coalesce(status, ''), 'UTF8')), 'hex')"
)
_TABLE_SQL: dict[str, tuple[str, str]] = {
    "canary_records": (
        _CANARY_HASH,
        "format('%s|%s|%s|%s|%s', stream, seq, sent_at, payload, checksum)",
    ),
    "runs": (_RUNS_HASH, "format('%s|%s|%s|%s|%s', id, name, status, created_at, checksum)"),
}
TABLES = tuple(_TABLE_SQL)

# One microsecond: the resolution of PostgreSQL timestamps.
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class TableFacts:
    """One table's rows, corrupt rows, and content digest (None digest for an empty table)."""

    table: str
    rows: int
    corrupt: int
    digest: str | None

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "corrupt": self.corrupt, "digest": self.digest}


def bad_rows_where(table: str) -> str:
    """The SQL condition that selects the corrupt rows of `table`."""
    expected, _ = _TABLE_SQL[table]
    return f"checksum IS DISTINCT FROM {expected}"


def _facts_sql(table: str) -> str:
    _, content = _TABLE_SQL[table]
    # 64 bits of md5 per row, summed as numeric: order-independent and overflow-free.
    return (
        f"SELECT count(*), count(*) FILTER (WHERE {bad_rows_where(table)}),"
        f" sum(('x' || left(md5({content}), 16))::bit(64)::bigint)::text FROM {table}"
    )


def table_facts(conn: psycopg.Connection[Any]) -> dict[str, TableFacts]:
    """Facts of every business table present in the database `conn` is connected to.

    A table that does not exist yet (a database restored from before the service first ran) counts
    as empty, which is what it is."""
    facts: dict[str, TableFacts] = {}
    for table in TABLES:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        if not exists or not exists[0]:
            facts[table] = TableFacts(table, 0, 0, None)
            continue
        row = conn.execute(_facts_sql(table)).fetchone()
        assert row is not None  # an aggregate always returns one row
        facts[table] = TableFacts(table, int(row[0]), int(row[1]), row[2])
    return facts


def last_good_time(conn: psycopg.Connection[Any]) -> datetime | None:
    """Just before the commit of the oldest corrupt row version; None when nothing is corrupt.

    Needs `track_commit_timestamp = on` (raises TargetError otherwise): the commit time, not any
    timestamp column, is what decides what a point-in-time restore keeps."""
    oldest: datetime | None = None
    for table in TABLES:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        if not exists or not exists[0]:
            continue
        query = (
            f"SELECT min(pg_xact_commit_timestamp(xmin)) FROM {table} WHERE {bad_rows_where(table)}"
        )
        try:
            row = conn.execute(query).fetchone()
        except psycopg.errors.ObjectNotInPrerequisiteState as exc:
            raise TargetError(
                "cannot date the corruption: track_commit_timestamp is off on this server; "
                "give the recovery target time explicitly"
            ) from exc
        committed = row[0] if row else None
        if committed is not None and (oldest is None or committed < oldest):
            oldest = committed
    return None if oldest is None else oldest - _TICK
