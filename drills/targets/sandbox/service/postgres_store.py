"""The service's PostgreSQL access: a bounded, self-healing connection pool and the queries.

The pool (psycopg_pool) is opened without waiting, so a replica starts while PostgreSQL is down;
each connection is pre-pinged when taken, so connections broken by a crash are discarded; a short
reconnect horizon lets demand start a fresh connection attempt soon after the server is back
(psycopg_pool's own back-off would otherwise wait up to minutes). Every query goes through the
postgres `Guard` (breaker + deadline). The tables are created, under an advisory lock so racing
replicas agree, by the first connection that finds them missing: also after a rebuild or restore.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from drills.errors import InputError
from drills.targets.sandbox.service.guard import Guard, remaining_seconds

__all__ = ["SCHEMA_SQL", "CanaryRecord", "PostgresStore", "is_postgres_failure", "run_checksum"]

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA_LOCK_KEY = 0x6D61657374726F  # "maestro": serialises schema creation across replicas
POOL_WAIT_MARGIN_SECONDS = 0.05
FAST_FAIL_WINDOW_SECONDS = 1.0

SCHEMA_SQL = (
    """CREATE TABLE IF NOT EXISTS canary_records (
        stream text NOT NULL,
        seq bigint NOT NULL,
        sent_at timestamptz,
        payload text,
        checksum text,
        committed_at timestamptz DEFAULT clock_timestamp(),
        PRIMARY KEY (stream, seq))""",
    """CREATE TABLE IF NOT EXISTS runs (
        id bigserial PRIMARY KEY,
        name text,
        status text,
        created_at timestamptz DEFAULT now(),
        checksum text)""",
)


def is_postgres_failure(exc: BaseException) -> bool:
    """True when `exc` means PostgreSQL (not the caller) failed: it counts for the breaker."""
    return isinstance(
        exc,
        OSError
        | TimeoutError
        | psycopg.OperationalError  # also PoolTimeout, AdminShutdown, CannotConnectNow
        | psycopg.InterfaceError
        | psycopg.errors.ReadOnlySqlTransaction,  # connected to a standby
    )


def run_checksum(name: str, status: str) -> str:
    """The `runs.checksum` of a row: sha256 of `name|status`, hex."""
    return hashlib.sha256(f"{name}|{status}".encode()).hexdigest()


@dataclass(frozen=True)
class CanaryRecord:
    stream: str
    seq: int
    sent_at: datetime
    payload: str
    checksum: str


def with_connect_timeout(conninfo: str, timeout_seconds: float) -> str:
    """`conninfo` with a `connect_timeout` if it has none: a frozen server must not hang a
    connection attempt (and a pool worker) forever. `InputError` for a malformed conninfo."""
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        raise InputError(f"postgres_conninfo is not a valid libpq conninfo: {exc}") from exc
    if "connect_timeout" in params:
        return conninfo
    # libpq takes whole seconds and treats anything below 2 as 2.
    return make_conninfo(conninfo, connect_timeout=max(2, math.ceil(timeout_seconds)))


class ConnectTracker:
    """Remembers whether the pool's latest attempt to connect failed, and why.

    While the server is known to refuse connections and the pool has none idle, a query fails at
    once with that reason instead of waiting out the pool timeout: callers (and the breaker) learn
    of an outage in milliseconds, as they would with a plain connection refused. The knowledge
    expires after `FAST_FAIL_WINDOW_SECONDS`, so a later query waits on the pool again and thereby
    asks it for a fresh connection: that is how the pool heals once the server is back.
    """

    def __init__(self) -> None:
        self.failed_at: float | None = None
        self.error = ""

    def failed(self, exc: BaseException) -> None:
        self.failed_at = time.monotonic()
        self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

    def succeeded(self) -> None:
        self.failed_at = None
        self.error = ""

    def known_down(self) -> bool:
        return (
            self.failed_at is not None
            and time.monotonic() - self.failed_at < FAST_FAIL_WINDOW_SECONDS
        )


def _tracked_connection_class(tracker: ConnectTracker) -> type[psycopg.AsyncConnection[Any]]:
    class TrackedConnection(psycopg.AsyncConnection[Any]):
        @classmethod
        async def connect(cls, conninfo: str = "", **kwargs: Any) -> Self:
            try:
                conn = await super().connect(conninfo, **kwargs)
            except psycopg.Error as exc:
                tracker.failed(exc)
                raise
            tracker.succeeded()
            return conn

    return TrackedConnection


async def _alive(conn: psycopg.AsyncConnection[Any]) -> bool:
    """Pre-ping: False when the connection is broken (psycopg then closes it)."""
    try:
        await conn.execute("")
    except psycopg.OperationalError:
        if conn.closed:
            return False
        raise
    return True


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


async def _ensure_schema(conn: psycopg.AsyncConnection[Any]) -> None:
    """Pool `configure` hook: create the tables if this server lacks them (idempotent)."""
    cur = await conn.execute(
        "SELECT to_regclass('canary_records') IS NOT NULL AND to_regclass('runs') IS NOT NULL,"
        " pg_is_in_recovery()"
    )
    row = await cur.fetchone()
    if row is None or row[0] or row[1]:
        return  # present, or a standby (where nothing can be created anyway)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        for statement in SCHEMA_SQL:
            await conn.execute(statement)
    log.info("schema ensured (canary_records, runs)")


class PostgresStore:
    """The pool plus every query the service makes, each bounded and breaker-guarded."""

    def __init__(
        self,
        conninfo: str,
        *,
        guard: Guard,
        pool_min: int,
        pool_max: int,
        timeout_seconds: float,
    ) -> None:
        self.guard = guard
        self.timeout_seconds = timeout_seconds
        self.connects = ConnectTracker()
        self.pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            with_connect_timeout(conninfo, timeout_seconds),
            min_size=pool_min,
            max_size=pool_max,
            open=False,
            connection_class=_tracked_connection_class(self.connects),
            kwargs={"autocommit": True},
            configure=_ensure_schema,
            timeout=timeout_seconds,
            reconnect_timeout=max(1.0, timeout_seconds),
            name="maestro",
            num_workers=2,
        )

    async def open(self) -> None:
        """Start the pool without waiting for PostgreSQL (it may be down)."""
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.guard.drain()
        await self.pool.close(timeout=1.0)

    async def _run(
        self, query: Callable[[psycopg.AsyncConnection[Any]], Coroutine[Any, Any, T]]
    ) -> T:
        budget = remaining_seconds(self.timeout_seconds)
        deadline = time.monotonic() + budget

        async def operation() -> T:
            # One try per pooled connection: connections broken by a crash are found by a
            # pre-ping and discarded (the pool replaces them) without any back-off sleep.
            for _ in range(self.pool.max_size + 1):
                if self.connects.known_down() and not self.pool.get_stats().get("pool_available"):
                    raise psycopg.OperationalError(f"PostgreSQL unreachable: {self.connects.error}")
                # The pool wait ends just before the deadline so exhaustion reads as such.
                pool_wait = max(0.01, deadline - time.monotonic() - POOL_WAIT_MARGIN_SECONDS)
                async with self.pool.connection(timeout=pool_wait) as conn:
                    if await _alive(conn):
                        return await query(conn)
            raise psycopg.OperationalError("no working connection in the pool")

        return await self.guard.run(operation, budget)

    async def ping(self) -> dict[str, Any]:
        """A real round trip: `pg_is_in_recovery()`; returns latency and recovery state."""

        async def query(conn: psycopg.AsyncConnection[Any]) -> bool:
            cur = await conn.execute("SELECT pg_is_in_recovery()")
            row = await cur.fetchone()
            return bool(row[0]) if row else False

        started = time.monotonic()
        in_recovery = await self._run(query)
        return {"latency_seconds": time.monotonic() - started, "in_recovery": in_recovery}

    async def insert_record(self, record: CanaryRecord) -> bool:
        """Commit one canary record; False when (stream, seq) already existed (idempotent)."""

        async def query(conn: psycopg.AsyncConnection[Any]) -> bool:
            cur = await conn.execute(
                "INSERT INTO canary_records (stream, seq, sent_at, payload, checksum)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (stream, seq) DO NOTHING",
                (record.stream, record.seq, record.sent_at, record.payload, record.checksum),
            )
            return cur.rowcount == 1

        return await self._run(query)

    async def list_records(self, stream: str, after: int, limit: int) -> dict[str, Any]:
        """Records of `stream` with seq > `after`, by seq; `next` is the cursor for more."""

        async def query(conn: psycopg.AsyncConnection[Any]) -> list[tuple[Any, ...]]:
            cur = await conn.execute(
                "SELECT stream, seq, sent_at, payload, checksum FROM canary_records"
                " WHERE stream = %s AND seq > %s ORDER BY seq LIMIT %s",
                (stream, after, limit + 1),
            )
            return await cur.fetchall()

        rows = await self._run(query)
        more = len(rows) > limit
        rows = rows[:limit]
        records = [
            {"stream": s, "seq": q, "sent_at": _iso(t), "payload": p, "checksum": c}
            for s, q, t, p, c in rows
        ]
        return {"records": records, "next": rows[-1][1] if more else None}

    async def insert_run(self, name: str, status: str) -> dict[str, Any]:
        async def query(conn: psycopg.AsyncConnection[Any]) -> tuple[Any, ...] | None:
            cur = await conn.execute(
                "INSERT INTO runs (name, status, checksum) VALUES (%s, %s, %s)"
                " RETURNING id, name, status, created_at, checksum",
                (name, status, run_checksum(name, status)),
            )
            return await cur.fetchone()

        row = await self._run(query)
        assert row is not None  # INSERT ... RETURNING always returns the row
        return _run_json(row)

    async def list_runs(self, after: int, limit: int) -> list[dict[str, Any]]:
        async def query(conn: psycopg.AsyncConnection[Any]) -> list[tuple[Any, ...]]:
            cur = await conn.execute(
                "SELECT id, name, status, created_at, checksum FROM runs"
                " WHERE id > %s ORDER BY id LIMIT %s",
                (after, limit),
            )
            return await cur.fetchall()

        return [_run_json(row) for row in await self._run(query)]

    async def count_runs(self) -> int:
        async def query(conn: psycopg.AsyncConnection[Any]) -> int:
            cur = await conn.execute("SELECT count(*) FROM runs")
            row = await cur.fetchone()
            return int(row[0]) if row else 0

        return await self._run(query)

    def pool_stats(self) -> dict[str, int]:
        """in_use / idle / capacity / waiting, as the runbook's pool check reads them."""
        stats = self.pool.get_stats()
        size = stats.get("pool_size", 0)
        idle = stats.get("pool_available", 0)
        return {
            "in_use": max(0, size - idle),
            "idle": idle,
            "capacity": self.pool.max_size,
            "waiting": stats.get("requests_waiting", 0),
            "size": size,
        }


def _run_json(row: tuple[Any, ...]) -> dict[str, Any]:
    run_id, name, status, created_at, checksum = row
    valid = (
        isinstance(name, str) and isinstance(status, str) and checksum == run_checksum(name, status)
    )
    return {
        "id": run_id,
        "name": name,
        "status": status,
        "created_at": _iso(created_at),
        "checksum": checksum,
        "checksum_valid": valid,
    }


POOL_TIMEOUT_KINDS: tuple[type[BaseException], ...] = (PoolTimeout,)
