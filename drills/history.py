"""The history of drill runs: one SQLite file by default, or a team's PostgreSQL database.

MTTR, regression gates and the drill cadence all need past runs; SQLite (stdlib, WAL mode so a
reader never blocks the writer) keeps them on the machine that runs the drills with nothing to
install, PostgreSQL (`DRILLS_HISTORY=postgresql://…`) lets CI runners and CronJobs share one
(`drills.history_backends`). The schema is versioned and migrated in place
(`drills.history_schema`); a history written by a newer drills is refused clearly.

Each run belongs to an *invocation* (one `drills run`, which with `--repeat N` measures N runs): the
gate judges a scenario's newest invocation against the runs before it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from drills.clock import RunClock, iso
from drills.errors import InputError
from drills.history_backends import connect
from drills.history_schema import SCHEMA_VERSION
from drills.models import DrillResult, Phase, RunStatus, Verdict

__all__ = ["SCHEMA_VERSION", "BaselineMark", "History", "HistoryRun"]

_COLUMNS = (
    "run_id, scenario, target_name, target_kind, started_at, ended_at, status, verdict,"
    " rto_seconds, rpo_seconds, writes_lost, report_json, invocation_id, verdict_reason,"
    " ttd_seconds, downtime_seconds, p95_fault_seconds, run_dir"
)
_WRITTEN = _COLUMNS.split(", ")
_KEPT = ("report_json", "run_dir")  # a value stored earlier is kept when none is given now
_UPDATED = [c for c in _WRITTEN if c != "run_id" and c not in _KEPT]


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
    invocation_id: str = ""
    verdict_reason: str = ""
    ttd_seconds: float | None = None
    downtime_seconds: float | None = None
    p95_fault_seconds: float | None = None
    run_dir: str | None = None  # the run's folder (reports, journal, timeline), where recorded

    def report(self) -> dict[str, Any] | None:
        """The stored report, parsed, or None when none was stored."""
        if self.report_json is None:
            return None
        data: dict[str, Any] = json.loads(self.report_json)
        return data

    def row(self) -> tuple[object, ...]:
        """The values in the history's column order (`History.insert_rows`)."""
        return (
            self.run_id,
            self.scenario,
            self.target_name,
            self.target_kind,
            iso(self.started_at),
            iso(self.ended_at),
            self.status.value,
            self.verdict.value,
            self.rto_seconds,
            self.rpo_seconds,
            self.writes_lost,
            self.report_json,
            self.invocation_id or self.run_id,
            self.verdict_reason,
            self.ttd_seconds,
            self.downtime_seconds,
            self.p95_fault_seconds,
            self.run_dir,
        )


@dataclass(frozen=True)
class BaselineMark:
    """A person's decision about a scenario's baseline: `pin` (these runs are the baseline) or
    `reset` (only runs after this instant count), with the reason every later gate shows."""

    scenario: str
    action: str  # "pin" | "reset"
    run_ids: tuple[str, ...]
    reason: str
    at: datetime


def _utc(text: str) -> datetime:
    instant = datetime.fromisoformat(text)
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def _run_times(result: DrillResult) -> tuple[str, str]:
    try:
        clock = RunClock(anchor_utc=_utc(result.anchor_utc), anchor_monotonic_ns=0)
    except ValueError as exc:
        raise InputError(f"run {result.run_id}: bad anchor_utc {result.anchor_utc!r}") from exc
    return str(iso(clock.to_utc(result.started_at))), str(iso(clock.to_utc(result.ended_at)))


def _phase_p95(result: DrillResult) -> float | None:
    stats = result.measurements.phases.get(Phase.FAULT)
    return None if stats is None else stats.p95_latency_seconds


class History:
    """Runs recorded at `location`: a SQLite file (created with its folders when missing) or a
    `postgresql://` URL (a team's history)."""

    def __init__(self, location: Path | str) -> None:
        self._db = connect(location)
        self.where = self._db.where

    @classmethod
    def existing(cls, location: Path | str) -> History:
        """Open a history that must already exist (a URL is always tried)."""
        if isinstance(location, Path) and not location.exists():
            raise InputError(f"no history at {location}: run a drill first")
        return cls(location)

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

    # -- writing ----------------------------------------------------------------------------

    def record(
        self,
        result: DrillResult,
        report_json: Mapping[str, Any] | None = None,
        *,
        invocation_id: str | None = None,
        run_dir: Path | None = None,
    ) -> None:
        """Store `result` (again: replaces the row with the same run_id; a report or run folder
        stored earlier is kept when none is given now). A run recorded without an invocation is
        an invocation of its own."""
        started, ended = _run_times(result)
        m = result.measurements
        report = None if report_json is None else json.dumps(report_json, ensure_ascii=False)
        values = (
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
            invocation_id or result.run_id,
            result.verdict_reason,
            m.time_to_detect_seconds,
            m.downtime_seconds,
            _phase_p95(result),
            None if run_dir is None else str(run_dir),
        )
        self.insert_rows([values])

    def insert_rows(self, rows: Sequence[Sequence[object]]) -> None:
        """Upsert raw rows in the history's column order in one transaction."""
        with self._db.transaction():
            self._upsert(rows)

    def _upsert(self, rows: Sequence[Sequence[object]]) -> None:
        updates = ", ".join(f"{c}=excluded.{c}" for c in _UPDATED)
        placeholders = ", ".join("?" * len(_WRITTEN))
        self._db.executemany(
            f"INSERT INTO runs ({_COLUMNS}) VALUES ({placeholders})"
            f" ON CONFLICT (run_id) DO UPDATE SET {updates}, "
            + ", ".join(f"{c}=COALESCE(excluded.{c}, runs.{c})" for c in _KEPT),
            rows,
        )

    def _add_mark(self, mark: BaselineMark) -> None:
        values = (mark.scenario, mark.action, json.dumps(list(mark.run_ids)), mark.reason)
        at = iso(mark.at)
        same = self._db.execute(
            "SELECT 1 FROM baseline_marks WHERE scenario = ? AND action = ? AND run_ids = ?"
            " AND reason = ? AND at = ?",
            (*values, at),
        ).fetchone()
        if same is None:
            self._db.execute(
                "INSERT INTO baseline_marks (scenario, action, run_ids, reason, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (*values, at),
            )

    def mark_baseline(
        self, scenario: str, action: str, run_ids: Sequence[str], reason: str, at: datetime
    ) -> BaselineMark:
        """Record a pin or a reset of `scenario`'s baseline."""
        mark = BaselineMark(scenario, action, tuple(run_ids), reason, at.astimezone(UTC))
        with self._db.transaction():
            self._add_mark(mark)
        return mark

    def insert(self, runs: Sequence[HistoryRun], marks: Sequence[BaselineMark]) -> None:
        """Store runs (upserted) and baseline marks (once each) in one transaction (import)."""
        with self._db.transaction():
            self._upsert([run.row() for run in runs])
            for mark in marks:
                self._add_mark(mark)

    # -- reading ----------------------------------------------------------------------------

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
            clauses.append(
                f"verdict IN ({', '.join('?' * len(verdicts))})" if verdicts else "1 = 0"
            )
            params.extend(v.value for v in verdicts)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def _select(self, tail: str, params: Sequence[object]) -> list[HistoryRun]:
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM runs {tail}", params).fetchall()
        return [self._run(row) for row in rows]

    def runs(
        self, scenario: str | None = None, target: str | None = None, limit: int = 100
    ) -> list[HistoryRun]:
        """Recorded runs, newest first, optionally of one scenario and/or one target."""
        where, params = self._where(scenario, target)
        return self._select(
            f"{where} ORDER BY started_at DESC, run_id DESC LIMIT ?", [*params, limit]
        )

    def all_runs(self) -> list[HistoryRun]:
        """Every run, oldest first (export)."""
        return self._select("ORDER BY started_at, run_id", [])

    def run(self, run_id: str) -> HistoryRun | None:
        found = self._select("WHERE run_id = ?", [run_id])
        return found[0] if found else None

    def scenarios(self) -> list[str]:
        """Every scenario with a recorded run, by name."""
        rows = self._db.execute("SELECT DISTINCT scenario FROM runs ORDER BY scenario").fetchall()
        return [str(row[0]) for row in rows]

    def latest_invocation(self, scenario: str) -> list[HistoryRun]:
        """The runs of `scenario`'s newest invocation, oldest first (empty: never run)."""
        row = self._db.execute(
            "SELECT invocation_id FROM runs WHERE scenario = ?"
            " ORDER BY started_at DESC, run_id DESC LIMIT 1",
            (scenario,),
        ).fetchone()
        if row is None:
            return []
        return self._select(
            "WHERE scenario = ? AND invocation_id = ? ORDER BY started_at, run_id",
            [scenario, row[0]],
        )

    def invocation_runs(self, invocation_id: str, scenario: str | None = None) -> list[HistoryRun]:
        """The runs of one invocation (of one scenario, if given), oldest first."""
        tail, params = "WHERE invocation_id = ?", [invocation_id]
        if scenario is not None:
            tail, params = f"{tail} AND scenario = ?", [*params, scenario]
        return self._select(f"{tail} ORDER BY started_at, run_id", params)

    def met_runs_before(
        self,
        scenario: str,
        target_kind: str,
        before: datetime,
        limit: int,
        *,
        since: datetime | None = None,
        exclude_invocation: str = "",
    ) -> list[HistoryRun]:
        """The newest `limit` met runs of `scenario` on `target_kind` that started before
        `before` (and after `since`), newest first."""
        tail = (
            "WHERE scenario = ? AND target_kind = ? AND verdict = 'met' AND started_at < ?"
            " AND invocation_id != ?"
        )
        params: list[object] = [scenario, target_kind, iso(before), exclude_invocation]
        if since is not None:
            tail += " AND started_at > ?"
            params.append(iso(since))
        return self._select(
            f"{tail} ORDER BY started_at DESC, run_id DESC LIMIT ?", [*params, limit]
        )

    def runs_by_id(self, run_ids: Sequence[str]) -> list[HistoryRun]:
        """The runs with these ids that exist, oldest first."""
        if not run_ids:
            return []
        marks = ", ".join("?" * len(run_ids))
        return self._select(f"WHERE run_id IN ({marks}) ORDER BY started_at, run_id", run_ids)

    def _marks(self, tail: str, params: Sequence[object]) -> list[BaselineMark]:
        rows = self._db.execute(
            f"SELECT scenario, action, run_ids, reason, at FROM baseline_marks {tail}", params
        ).fetchall()
        return [BaselineMark(r[0], r[1], tuple(json.loads(r[2])), r[3], _utc(r[4])) for r in rows]

    def latest_mark(self, scenario: str) -> BaselineMark | None:
        """The newest pin or reset of `scenario`'s baseline, if any."""
        found = self._marks("WHERE scenario = ? ORDER BY at DESC, id DESC LIMIT 1", [scenario])
        return found[0] if found else None

    def marks(self) -> list[BaselineMark]:
        """Every pin and reset, oldest first (export)."""
        return self._marks("ORDER BY at, id", [])

    def _run(self, row: Sequence[Any]) -> HistoryRun:
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
                invocation_id=row[12] or row[0],
                verdict_reason=row[13] or "",
                ttd_seconds=row[14],
                downtime_seconds=row[15],
                p95_fault_seconds=row[16],
                run_dir=row[17],
            )
        except ValueError as exc:
            raise InputError(f"history {self.where}: run {row[0]} is unreadable ({exc})") from exc

    def rto_seconds(self, scenario: str, target: str | None = None, limit: int = 20) -> list[float]:
        """The measured RTOs of the newest `limit` runs that have one, newest first."""
        where, params = self._where(scenario, target)
        rows = self._db.execute(
            f"SELECT rto_seconds FROM runs{where} AND rto_seconds IS NOT NULL"
            " ORDER BY started_at DESC, run_id DESC LIMIT ?",
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
