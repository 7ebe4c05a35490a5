"""The history's schema and its migrations, one numbered step at a time.

A new history is created at version 1 and migrated forward like any old one, so every step runs
on every fresh file and stays tested. Each step runs inside the caller's transaction; a history
whose version is newer than this code knows is refused, never rewritten.

Version 2 (the CI gate): an invocation id per run (one `drills run --repeat N`), the verdict's
reason and the other metrics the gate compares (time to detect, downtime, p95 latency under
fault) as columns, filled for older runs from their stored report; and the baseline marks table
(pins and resets, each with its reason).

Version 3: the run's folder (reports, journal, timeline), so `drills history --json` can point at it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from drills.errors import InputError

SCHEMA_VERSION = 3


class Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What a migration needs of a DB-API connection whose placeholders are `?`."""

    def execute(self, sql: str, params: Any = ..., /) -> Cursor: ...


_V1 = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS runs (
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
    report_json TEXT
)""",
    "CREATE INDEX IF NOT EXISTS runs_by_scenario ON runs (scenario, target_name, started_at)",
)

_V2 = (
    "ALTER TABLE runs ADD COLUMN invocation_id TEXT",
    "ALTER TABLE runs ADD COLUMN verdict_reason TEXT",
    "ALTER TABLE runs ADD COLUMN ttd_seconds REAL",
    "ALTER TABLE runs ADD COLUMN downtime_seconds REAL",
    "ALTER TABLE runs ADD COLUMN p95_fault_seconds REAL",
    "CREATE INDEX runs_by_start ON runs (scenario, started_at, run_id)",
    "CREATE INDEX runs_for_baseline ON runs (scenario, target_kind, verdict, started_at, run_id)",
    "CREATE INDEX runs_by_invocation ON runs (invocation_id)",
    """CREATE TABLE baseline_marks (
    id INTEGER PRIMARY KEY,
    scenario TEXT NOT NULL,
    action TEXT NOT NULL,
    run_ids TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
)""",
)


_V3 = ("ALTER TABLE runs ADD COLUMN run_dir TEXT",)


def report_metrics(report: dict[str, Any] | None) -> tuple[Any, Any, Any, Any]:
    """(verdict reason, time to detect, downtime, p95 latency under fault) from a stored
    `report.json`; None for what it lacks."""
    if not isinstance(report, dict):
        return None, None, None, None
    m = report.get("measurements") or {}
    fault = (m.get("phases") or {}).get("fault") or {}
    return (
        report.get("verdict_reason"),
        m.get("time_to_detect_seconds"),
        m.get("downtime_seconds"),
        fault.get("p95_latency_seconds"),
    )


def _backfill_v2(db: Connection) -> None:
    rows = db.execute("SELECT run_id, report_json FROM runs").fetchall()
    for run_id, report_json in rows:
        try:
            report = json.loads(report_json) if report_json else None
        except ValueError:
            report = None
        db.execute(
            "UPDATE runs SET invocation_id = ?, verdict_reason = ?, ttd_seconds = ?,"
            " downtime_seconds = ?, p95_fault_seconds = ? WHERE run_id = ?",
            (run_id, *report_metrics(report), run_id),
        )


def _steps(
    serial_key: str,
) -> dict[int, tuple[tuple[str, ...], Callable[[Connection], None] | None]]:
    v2 = tuple(s.replace("id INTEGER PRIMARY KEY", f"id {serial_key}") for s in _V2)
    return {1: (_V1, None), 2: (v2, _backfill_v2), 3: (_V3, None)}


def current_version(db: Connection) -> int | None:
    row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def migrate(db: Connection, where: str, serial_key: str = "INTEGER PRIMARY KEY") -> int:
    """Bring the history at `where` to `SCHEMA_VERSION` (inside the caller's transaction);
    returns the version it was at (0: new)."""
    db.execute(_V1[0])
    found = current_version(db)
    if found is not None and found > SCHEMA_VERSION:
        raise InputError(
            f"history {where}: schema version {found} is newer than this drills"
            f" understands ({SCHEMA_VERSION})"
        )
    start = found or 0
    for version, (statements, backfill) in sorted(_steps(serial_key).items()):
        if version <= start:
            continue
        for statement in statements:
            db.execute(statement)
        if backfill is not None:
            backfill(db)
        db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
    return start
