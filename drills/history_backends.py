"""Where a history lives: a SQLite file (the embedded default) or a team's PostgreSQL database.

`DRILLS_HISTORY=postgresql://…` lets CI runners and the cluster's CronJobs write one history. Both
backends take the same SQL (`?` placeholders, `ON CONFLICT … DO UPDATE`, standard types); this
module is the one boundary to each database library: every driver error becomes one `InputError`
line naming the history, and a PostgreSQL URL is only ever shown without its password.
Concurrent writers are safe on both: SQLite serialises writers (WAL, a busy timeout), PostgreSQL
upserts atomically and runs migrations under an advisory lock, so two processes opening a new
database at once migrate it once.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from drills.errors import InputError
from drills.history_schema import migrate

__all__ = ["Backend", "connect", "is_postgres_url", "redact"]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_MIGRATION_LOCK = 0x64726C6C  # "drll": one migration at a time per PostgreSQL database


def is_postgres_url(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(_POSTGRES_SCHEMES)


def redact(url: str) -> str:
    """`url` without its password (user, host, port and database stay: they help debugging)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception:
        return "postgresql://(unparsable URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


class Backend(Protocol):
    """A connection that speaks the history's SQL and maps its driver's errors."""

    where: str

    def execute(self, sql: str, params: Sequence[object] = ()) -> Any: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None: ...
    def transaction(self) -> contextlib.AbstractContextManager[None]: ...
    def close(self) -> None: ...


class SqliteBackend:
    def __init__(self, path: Path) -> None:
        self.where = str(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # transactions are explicit (`transaction`): Python's implicit ones leave DDL and
            # reads outside, so two processes could both see an old schema and both migrate
            self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise InputError(f"history {path}: cannot open ({exc})") from exc
        try:
            self._prepare()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise InputError(f"history {path}: not a drills history database ({exc})") from exc
        except InputError:
            self._db.close()
            raise

    def _prepare(self) -> None:
        db = self._db
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "schema_version" not in tables:  # refused before anything changes it
            raise InputError(f"history {self.where}: a SQLite file, but not a drills history")
        db.execute("PRAGMA journal_mode=WAL")
        # SQLite's advice for WAL: never corrupt; only the last commits can be lost on power loss
        db.execute("PRAGMA synchronous=NORMAL")
        with self.transaction():
            migrate(db, self.where)

    def execute(self, sql: str, params: Sequence[object] = ()) -> Any:
        try:
            return self._db.execute(sql, list(params))
        except sqlite3.Error as exc:
            raise InputError(f"history {self.where}: {exc}") from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        try:
            self._db.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise InputError(f"history {self.where}: {exc}") from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE: the write lock from the start, waiting for other writers (the busy
        timeout), so a read-then-write (a migration, a baseline mark) never races another."""
        self.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


class PostgresBackend:
    def __init__(self, url: str) -> None:
        import psycopg

        self.where = redact(url)
        self._secret = _password(url)
        if self._secret is None:
            raise InputError(f"history {self.where}: not a valid PostgreSQL URL")
        try:
            self._db = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise InputError(f"history {self.where}: cannot connect ({self._say(exc)})") from None
        try:
            with self.transaction():
                self.execute("SELECT pg_advisory_xact_lock(?)", [_MIGRATION_LOCK])
                self._refuse_foreign()
                migrate(_Translated(self), self.where, "BIGSERIAL PRIMARY KEY")
        except BaseException:
            self._db.close()
            raise

    def _refuse_foreign(self) -> None:
        rows = self.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
        tables = {row[0] for row in rows}
        if tables & {"runs", "baseline_marks"} and "schema_version" not in tables:
            raise InputError(f"history {self.where}: a database, but not a drills history")

    def _say(self, exc: Exception) -> str:
        """The driver's message on one line, never with the password in it."""
        text = " ".join(str(exc).split()) or type(exc).__name__
        return text.replace(self._secret, "***") if self._secret else text

    def execute(self, sql: str, params: Sequence[object] = ()) -> Any:
        import psycopg

        try:
            return self._db.execute(_postgres_sql(sql), list(params))
        except psycopg.Error as exc:
            raise InputError(f"history {self.where}: {self._say(exc)}") from None

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        import psycopg

        try:
            with self._db.cursor() as cursor:
                cursor.executemany(_postgres_sql(sql), rows)
        except psycopg.Error as exc:
            raise InputError(f"history {self.where}: {self._say(exc)}") from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        import psycopg

        try:
            with self._db.transaction():
                yield
        except psycopg.Error as exc:
            raise InputError(f"history {self.where}: {self._say(exc)}") from None

    def close(self) -> None:
        self._db.close()


class _Translated:
    """What `migrate` needs, with SQLite's column types in PostgreSQL's spelling."""

    def __init__(self, backend: PostgresBackend) -> None:
        self._backend = backend

    def execute(self, sql: str, params: Any = (), /) -> Any:
        return self._backend.execute(sql.replace(" REAL", " DOUBLE PRECISION"), params)


def _postgres_sql(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (the history's SQL has no literal `?` or `%`)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _password(url: str) -> str | None:
    """The URL's password ("" for none), None when the URL does not parse."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        return str(conninfo_to_dict(url).get("password") or "")
    except Exception:
        return None


def connect(location: str | Path) -> Backend:
    """The backend for a SQLite path or a `postgresql://` URL."""
    if is_postgres_url(location):
        return PostgresBackend(str(location))
    return SqliteBackend(Path(location))
