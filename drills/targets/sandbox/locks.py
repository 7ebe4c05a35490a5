"""Sessions that hold PostgreSQL table locks: the sandbox's pool-exhaustion and long-query faults.

A misbehaving client (a migration, a report, a leaked transaction) holds a lock the service's
queries need; they queue behind it, each holding a pooled connection, until the pool is exhausted
and the service fails its health checks although the database is up. Each holder is one real
session on the primary, kept by a background thread and bounded in time: it ends by itself after
`hold_seconds`, when released, or when an operator terminates it (`pg_terminate_backend`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence

import psycopg
from psycopg import sql

from drills.errors import InputError, TargetError
from drills.targets.base import LockMode

__all__ = ["MAX_HOLD_SECONDS", "TableLockHolder"]

MAX_HOLD_SECONDS = 300.0
LOCK_TIMEOUT_MS = 5000


class TableLockHolder:
    """One session holding `mode` locks on `tables` in a transaction, in a background thread."""

    def __init__(
        self,
        conninfo: str,
        tables: Sequence[str],
        mode: LockMode,
        hold_seconds: float,
        busy: bool = True,
    ) -> None:
        if not tables:
            raise InputError("name at least one table to lock")
        if not 0 < hold_seconds <= MAX_HOLD_SECONDS:
            raise InputError(f"hold_seconds must be in (0, {MAX_HOLD_SECONDS:.0f}]")
        self.conninfo = conninfo
        self.tables = tuple(tables)
        self.mode = mode
        self.hold_seconds = hold_seconds
        self.busy = busy
        self.pid: int | None = None
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._held = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._hold, name="table-lock-holder", daemon=True)

    def start(self, timeout_seconds: float = 10.0) -> int:
        """Start holding; returns the session's backend pid once every lock is granted."""
        self._thread.start()
        if not self._held.wait(timeout_seconds) or self.pid is None:
            self.release()
            detail = f": {self._error}" if self._error else ""
            raise TargetError(f"could not lock {', '.join(self.tables)}{detail}")
        return self.pid

    def _hold(self) -> None:
        statement = sql.SQL("LOCK TABLE {} IN {} MODE").format(
            sql.SQL(", ").join(sql.Identifier(t) for t in self.tables),
            sql.SQL(self.mode.value),
        )
        try:
            with psycopg.connect(self.conninfo, application_name="drills-lock-holder") as conn:
                self._conn = conn
                conn.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
                conn.execute(statement)
                self.pid = conn.info.backend_pid
                self._held.set()
                if self.busy:
                    conn.execute("SELECT pg_sleep(%s)", (self.hold_seconds,))
                else:
                    self._stop.wait(self.hold_seconds)
                conn.rollback()
        except psycopg.Error as exc:  # terminated by an operator, cancelled by release()
            self._error = exc
        finally:
            self._conn = None
            self._held.set()

    @property
    def holding(self) -> bool:
        return self._thread.is_alive() and self.pid is not None

    def release(self, timeout_seconds: float = 5.0) -> bool:
        """End the session (cancel its query, roll back); True when it was still holding."""
        was_holding = self.holding
        self._stop.set()
        conn = self._conn
        if conn is not None and self.busy:
            with contextlib.suppress(psycopg.Error):
                conn.cancel_safe(timeout=timeout_seconds)
        if self._thread.is_alive():
            self._thread.join(timeout_seconds)
        return was_holding
