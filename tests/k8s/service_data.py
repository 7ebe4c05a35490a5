"""Where the emulated control plane keeps its business data: canary records and `runs`.

`MemoryData` is a database that simply survives pod restarts (a PersistentVolume), enough for
drills whose faults never touch data. `PostgresData` keeps the same rows in the real PostgreSQL
that the profile's `database.conninfo` reaches, in the reference service's own schema
(`SCHEMA_SQL`, checksums included): a data-corruption drill then corrupts, dates and restores
the very rows the service serves, and what a point-in-time restore throws away is really gone
when the canary reads its stream back.

Both raise `DataUnavailable` when the store cannot answer (the service answers 503).
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from drills.targets.sandbox.service.postgres_store import SCHEMA_SQL, run_checksum

__all__ = ["DataUnavailable", "MemoryData", "PostgresData", "ServiceData"]


class DataUnavailable(Exception):
    """The store did not answer (PostgreSQL down, restoring, or refusing)."""


class ServiceData(Protocol):
    def add_record(self, record: dict[str, Any]) -> bool:
        """Store a canary record; True when (stream, seq) already existed."""
        ...

    def records(self, stream: str, after: int, limit: int) -> dict[str, Any]:
        """`{"records": [...], "next": seq | None}`, by seq, as the service answers."""
        ...

    def add_run(self, name: str, status: str) -> dict[str, Any]: ...

    def runs(self, limit: int) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


class MemoryData:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, dict[int, dict[str, Any]]] = {}
        self._runs: list[dict[str, Any]] = []

    def add_record(self, record: dict[str, Any]) -> bool:
        with self._lock:
            stream = self._records.setdefault(str(record["stream"]), {})
            duplicate = int(record["seq"]) in stream
            stream[int(record["seq"])] = record
        return duplicate

    def records(self, stream: str, after: int, limit: int) -> dict[str, Any]:
        with self._lock:
            rows = sorted((seq, r) for seq, r in self._records.get(stream, {}).items())
        rows = [(seq, r) for seq, r in rows if seq > after]
        page = [r for _, r in rows[:limit]]
        return {"records": page, "next": page[-1]["seq"] if len(rows) > limit else None}

    def add_run(self, name: str, status: str) -> dict[str, Any]:
        with self._lock:
            run = _run_json(len(self._runs) + 1, name, status, None, run_checksum(name, status))
            self._runs.append(run)
        return run

    def runs(self, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._runs[-limit:])

    def close(self) -> None:
        return None


class PostgresData:
    """The rows in PostgreSQL, through a small pool whose connections are checked when taken
    (after a restore every old connection is broken)."""

    def __init__(self, conninfo: str) -> None:
        self._pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=4,
            kwargs={"autocommit": True},
            check=ConnectionPool.check_connection,
            timeout=2.0,
            reconnect_timeout=1.0,
            open=True,
            name="emulated-service",
        )
        with self._pool.connection() as conn, conn.transaction():
            for statement in SCHEMA_SQL:
                conn.execute(statement)

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            with self._pool.connection() as conn:
                cursor = conn.execute(sql, params)
                return cursor.fetchall() if cursor.description else [(cursor.rowcount,)]
        except (psycopg.Error, PoolTimeout, OSError) as exc:
            raise DataUnavailable(str(exc).strip().splitlines()[0] if str(exc) else "") from exc

    def add_record(self, record: dict[str, Any]) -> bool:
        rows = self._query(
            "INSERT INTO canary_records (stream, seq, sent_at, payload, checksum)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (stream, seq) DO NOTHING",
            (
                record["stream"],
                int(record["seq"]),
                record.get("sent_at"),
                record.get("payload"),
                record.get("checksum"),
            ),
        )
        return rows[0][0] == 0

    def records(self, stream: str, after: int, limit: int) -> dict[str, Any]:
        rows = self._query(
            "SELECT stream, seq, sent_at, payload, checksum FROM canary_records"
            " WHERE stream = %s AND seq > %s ORDER BY seq LIMIT %s",
            (stream, after, limit + 1),
        )
        page = [
            {
                "stream": s,
                "seq": q,
                "sent_at": None if t is None else t.isoformat(),
                "payload": p,
                "checksum": c,
            }
            for s, q, t, p, c in rows[:limit]
        ]
        return {"records": page, "next": page[-1]["seq"] if len(rows) > limit else None}

    def add_run(self, name: str, status: str) -> dict[str, Any]:
        rows = self._query(
            "INSERT INTO runs (name, status, checksum) VALUES (%s, %s, %s)"
            " RETURNING id, name, status, created_at, checksum",
            (name, status, run_checksum(name, status)),
        )
        return _run_json(*rows[0])

    def runs(self, limit: int) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT id, name, status, created_at, checksum FROM runs ORDER BY id LIMIT %s",
            (limit,),
        )
        return [_run_json(*row) for row in rows]

    def close(self) -> None:
        self._pool.close(timeout=2.0)


def _run_json(
    run_id: int, name: Any, status: Any, created_at: Any, checksum: Any
) -> dict[str, Any]:
    valid = (
        isinstance(name, str) and isinstance(status, str) and checksum == run_checksum(name, status)
    )
    return {
        "id": run_id,
        "name": name,
        "status": status,
        "created_at": None if created_at is None else created_at.isoformat(),
        "checksum": checksum,
        "checksum_valid": valid,
    }
