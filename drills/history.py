"""The history of drill runs, in one SQLite file.

MTTR, regression gates and the drill cadence all need past runs; SQLite (stdlib, WAL mode so a
reader never blocks the writer) keeps them on the machine that runs the drills with nothing to
install. A schema version table lets later versions migrate the file or refuse it clearly.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from drills.clock import RunClock, iso
from drills.errors import InputError
from drills.models import DrillResult, RunStatus, Verdict

__all__ = ["SCHEMA_VERSION", "History", "HistoryRun"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    scenario TEXT NOT NULL,
    target_name TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    status TEXT NOT NULL,
    verdict TEXT NOT NULL,
    rto_seconds REAL,
    rpo_seconds REAL,
    writes_lost INTEGER,
    report_json TEXT,
    run_dir TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_scenario ON runs (scenario, target_name, started_at);
"""

_COLUMNS = (
    "run_id, scenario, target_name, target_kind, started_at, ended_at, status, verdict,"
    " rto_seconds, rpo_seconds, writes_lost, report_json, run_dir"
)


@dataclass(frozen=True)
class HistoryRun:
    """One recorded run. Instants are timezone-aware UTC datetimes."""

    run_id: str
    scenario: str
    target_name: str
    target_kind: str
    started_at: datetime
    ended_at: datetime
    status: RunStatus
    verdict: Verdict
    rto_seconds: float | None
    rpo_seconds: float | None
    writes_lost: int | None
    report_json: str | None
    run_dir: str | None = None  # the run's folder (reports, journal, timeline), where recorded

    def report(self) -> dict[str, Any] | None:
        """The stored report, parsed, or None when none was stored."""
        if self.report_json is None:
            return None
        data: dict[str, Any] = json.loads(self.report_json)
        return data


def _utc(text: str) -> datetime:
    instant = datetime.fromisoformat(text)
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def _run_times(result: DrillResult) -> tuple[str, str]:
    try:
        clock = RunClock(anchor_utc=_utc(result.anchor_utc), anchor_monotonic_ns=0)
    except ValueError as exc:
        raise InputError(f"run {result.run_id}: bad anchor_utc {result.anchor_utc!r}") from exc
    return str(iso(clock.to_utc(result.started_at))), str(iso(clock.to_utc(result.ended_at)))


class History:
    """Runs recorded in the SQLite file at `path` (created with its folders when missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, timeout=10.0)
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
        db.execute("PRAGMA journal_mode=WAL")
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "schema_version" not in tables:
            raise InputError(f"history {self.path}: a SQLite file, but not a drills history")
        with db:
            db.executescript(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
            if "run_dir" not in columns:  # a history written before runs kept their folder
                db.execute("ALTER TABLE runs ADD COLUMN run_dir TEXT")
            row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
            if row[0] is None:
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] > SCHEMA_VERSION:
                raise InputError(
                    f"history {self.path}: schema version {row[0]} is newer than this drills"
                    f" understands ({SCHEMA_VERSION})"
                )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def record(
        self,
        result: DrillResult,
        report_json: Mapping[str, Any] | None = None,
        run_dir: Path | None = None,
    ) -> None:
        """Store `result` (again: replaces the row with the same run_id; a report or run folder
        stored earlier is kept when none is given now)."""
        started, ended = _run_times(result)
        m = result.measurements
        report = None if report_json is None else json.dumps(report_json, ensure_ascii=False)
        with self._db:
            self._db.execute(
                f"INSERT INTO runs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (run_id) DO UPDATE SET scenario=excluded.scenario,"
                " target_name=excluded.target_name, target_kind=excluded.target_kind,"
                " started_at=excluded.started_at, ended_at=excluded.ended_at,"
                " status=excluded.status, verdict=excluded.verdict,"
                " rto_seconds=excluded.rto_seconds, rpo_seconds=excluded.rpo_seconds,"
                " writes_lost=excluded.writes_lost,"
                " report_json=COALESCE(excluded.report_json, runs.report_json),"
                " run_dir=COALESCE(excluded.run_dir, runs.run_dir)",
                (
                    result.run_id,
                    result.drill.scenario,
                    result.target.name,
                    result.target.kind,
                    started,
                    ended,
                    result.status.value,
                    result.verdict.value,
                    m.rto_seconds,
                    m.rpo_seconds,
                    m.writes_lost,
                    report,
                    None if run_dir is None else str(run_dir),
                ),
            )

    def _where(
        self,
        scenario: str | None,
        target: str | None,
        verdicts: Collection[Verdict] | None = None,
    ) -> tuple[str, list[object]]:
        clauses: list[str] = []
        params: list[object] = []
        if scenario is not None:
            clauses.append("scenario = ?")
            params.append(scenario)
        if target is not None:
            clauses.append("target_name = ?")
            params.append(target)
        if verdicts is not None:
            clauses.append(f"verdict IN ({', '.join('?' * len(verdicts))})" if verdicts else "0")
            params.extend(v.value for v in verdicts)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def runs(
        self, scenario: str | None = None, target: str | None = None, limit: int = 100
    ) -> list[HistoryRun]:
        """Recorded runs, newest first, optionally of one scenario and/or one target."""
        where, params = self._where(scenario, target)
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM runs{where} ORDER BY started_at DESC, rowid DESC LIMIT ?",
            [*params, limit],
        ).fetchall()
        return [self._run(row) for row in rows]

    def _run(self, row: tuple[Any, ...]) -> HistoryRun:
        try:
            return HistoryRun(
                run_id=row[0],
                scenario=row[1],
                target_name=row[2],
                target_kind=row[3],
                started_at=_utc(row[4]),
                ended_at=_utc(row[5]),
                status=RunStatus(row[6]),
                verdict=Verdict(row[7]),
                rto_seconds=row[8],
                rpo_seconds=row[9],
                writes_lost=row[10],
                report_json=row[11],
                run_dir=row[12],
            )
        except ValueError as exc:
            raise InputError(f"history {self.path}: run {row[0]} is unreadable ({exc})") from exc

    def rto_seconds(self, scenario: str, target: str | None = None, limit: int = 20) -> list[float]:
        """The measured RTOs of the newest `limit` runs that have one, newest first."""
        where, params = self._where(scenario, target)
        rows = self._db.execute(
            f"SELECT rto_seconds FROM runs{where} AND rto_seconds IS NOT NULL"
            " ORDER BY started_at DESC, rowid DESC LIMIT ?",
            [*params, limit],
        ).fetchall()
        return [float(row[0]) for row in rows]

    def last_run_at(
        self,
        scenario: str,
        target: str | None = None,
        *,
        verdicts: Collection[Verdict] | None = None,
    ) -> datetime | None:
        """When the newest run of `scenario` started (only runs with one of `verdicts`, if
        given: a cadence may count only drills that proved something)."""
        where, params = self._where(scenario, target, verdicts)
        row = self._db.execute(f"SELECT MAX(started_at) FROM runs{where}", params).fetchone()
        return None if row[0] is None else _utc(row[0])
