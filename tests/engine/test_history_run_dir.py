"""The history keeps each run's folder, so `drills history --json` can point at its reports;
a history written before runs kept their folder is upgraded in place."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from drills.history import History
from tests.reports.runs import met_run, missed_run

ROOT = Path(__file__).resolve().parents[2]

_OLD_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, scenario TEXT NOT NULL, target_name TEXT NOT NULL,
    target_kind TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT NOT NULL,
    status TEXT NOT NULL, verdict TEXT NOT NULL, rto_seconds REAL, rpo_seconds REAL,
    writes_lost INTEGER, report_json TEXT
);
INSERT INTO runs VALUES ('old-run', 'complete-outage', 'sandbox', 'sandbox',
    '2025-01-01T00:00:00Z', '2025-01-01T00:01:00Z', 'completed', 'met', 5.0, 0.0, 0, NULL);
"""


def test_run_folder_is_recorded_and_kept(tmp_path: Path) -> None:
    folder = tmp_path / "runs" / "r1"
    result = met_run().result
    with History(tmp_path / "history.db") as history:
        history.record(result, None, run_dir=folder)
        history.record(result)  # recorded again without a folder: the folder stays
        [run] = history.runs()
    assert run.run_dir == str(folder)


def test_an_older_history_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    with sqlite3.connect(path) as db:
        db.executescript(_OLD_SCHEMA)
    with History(path) as history:
        history.record(missed_run().result, None, run_dir=tmp_path / "new")
        runs = {r.run_id: r.run_dir for r in history.runs()}
    assert runs == {"old-run": None, missed_run().result.run_id: str(tmp_path / "new")}


def test_history_json_names_the_run_folder(tmp_path: Path) -> None:
    folder = tmp_path / "runs" / "r1"
    with History(tmp_path / "history.sqlite") as history:  # $DRILLS_HOME's default history
        history.record(met_run().result, None, run_dir=folder)
    done = subprocess.run(
        [sys.executable, "-m", "drills", "history", "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={"DRILLS_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    assert json.loads(line)["run_dir"] == str(folder)
