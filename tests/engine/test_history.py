"""Run history in SQLite: recording, idempotence, queries, and refusing files that are not ours."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drills.errors import InputError
from drills.history import SCHEMA_VERSION, History, HistoryRun
from drills.models import RunStatus, Verdict
from tests.engine.builders import measurements, result


def test_record_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "history.sqlite"
    report = {"schema": "drills.report/v1", "verdict": "met", "note": "é"}
    with History(path) as history:
        history.record(result("r1", started_at=1.5, ended_at=61.25), report)
        runs = history.runs()
    assert path.exists()
    assert len(runs) == 1
    run = runs[0]
    assert isinstance(run, HistoryRun)
    assert (run.run_id, run.scenario, run.target_name, run.target_kind) == (
        "r1",
        "database-failover",
        "sandbox",
        "sandbox",
    )
    assert run.started_at == datetime(2025, 3, 1, 12, 0, 1, 500000, tzinfo=UTC)
    assert run.ended_at == datetime(2025, 3, 1, 12, 1, 1, 250000, tzinfo=UTC)
    assert run.status is RunStatus.COMPLETED and run.verdict is Verdict.MET
    assert (run.rto_seconds, run.rpo_seconds, run.writes_lost) == (30.0, 0.0, 0)
    assert run.report() == report


def test_uses_wal_and_a_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    History(path).close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT MAX(version) FROM schema_version").fetchone() == (SCHEMA_VERSION,)
    finally:
        db.close()


def test_record_is_idempotent_and_keeps_an_earlier_report(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite") as history:
        history.record(result("r1", verdict=Verdict.MISSED), {"v": 1})
        history.record(result("r1", verdict=Verdict.MET))
        history.record(result("r1", verdict=Verdict.MET))
        runs = history.runs()
    assert len(runs) == 1
    assert runs[0].verdict is Verdict.MET
    assert runs[0].report() == {"v": 1}


def test_runs_newest_first_filtered_and_limited(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite") as history:
        history.record(result("old", anchor_utc="2025-01-01T00:00:00Z"))
        history.record(result("new", anchor_utc="2025-03-01T00:00:00+00:00"))
        history.record(result("mid", anchor_utc="2025-02-01T01:00:00+01:00"))
        history.record(result("other", scenario="traffic-flood", target="staging"))
        assert [r.run_id for r in history.runs(scenario="database-failover")] == [
            "new",
            "mid",
            "old",
        ]
        assert [r.run_id for r in history.runs(scenario="database-failover", limit=2)] == [
            "new",
            "mid",
        ]
        assert [r.run_id for r in history.runs(target="staging")] == ["other"]
        assert history.runs(scenario="database-failover", target="staging") == []
        assert len(history.runs()) == 4


def test_rto_seconds_are_measured_values_newest_first(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite") as history:
        for day, rto in [(1, 10.0), (2, None), (3, 30.0), (4, 40.0)]:
            m = measurements(rto_seconds=rto)
            history.record(result(f"d{day}", anchor_utc=f"2025-03-0{day}T00:00:00Z", m=m))
        assert history.rto_seconds("database-failover") == [40.0, 30.0, 10.0]
        assert history.rto_seconds("database-failover", limit=2) == [40.0, 30.0]
        assert history.rto_seconds("database-failover", target="elsewhere") == []
        assert history.rto_seconds("complete-outage") == []


def test_last_run_at(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite") as history:
        assert history.last_run_at("database-failover") is None
        history.record(result("a", anchor_utc="2025-03-01T00:00:00Z", started_at=5.0))
        history.record(result("b", anchor_utc="2025-03-02T00:00:00Z", verdict=Verdict.INVALID))
        assert history.last_run_at("database-failover") == datetime(2025, 3, 2, tzinfo=UTC)
        proved = history.last_run_at("database-failover", verdicts=(Verdict.MET, Verdict.MISSED))
        assert proved == datetime(2025, 3, 1, 0, 0, 5, tzinfo=UTC)
        assert history.last_run_at("database-failover", verdicts=()) is None
        assert history.last_run_at("database-failover", target="nope") is None


def test_history_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    with History(path) as history:
        history.record(result("r1"))
    with History(path) as history:
        assert [r.run_id for r in history.runs()] == ["r1"]


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    path.write_bytes(b"this is certainly not a database\n" * 200)
    with pytest.raises(InputError) as info:
        History(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER)")
    db.commit()
    db.close()
    with pytest.raises(InputError, match="not a drills history"):
        History(path)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    History(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    with pytest.raises(InputError, match="newer"):
        History(path)


def test_a_bad_anchor_is_an_input_error(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite") as history, pytest.raises(InputError, match="anchor"):
        history.record(result("r1", anchor_utc="yesterday"))


V1_FILE = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, scenario TEXT NOT NULL, target_name TEXT NOT NULL,
    target_kind TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT NOT NULL,
    status TEXT NOT NULL, verdict TEXT NOT NULL, rto_seconds REAL, rpo_seconds REAL,
    writes_lost INTEGER, report_json TEXT
);
CREATE INDEX runs_by_scenario ON runs (scenario, target_name, started_at);
INSERT INTO schema_version (version) VALUES (1);
"""


def test_a_version_1_history_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite"
    db = sqlite3.connect(path)
    db.executescript(V1_FILE)
    report = {
        "verdict_reason": "met: rto 1.5 s",
        "measurements": {
            "time_to_detect_seconds": 0.25,
            "downtime_seconds": 1.25,
            "phases": {"fault": {"p95_latency_seconds": 0.125}},
        },
    }
    db.execute(
        "INSERT INTO runs VALUES ('old', 'complete-outage', 'sandbox', 'sandbox',"
        " '2025-01-01T00:00:00.000000Z', '2025-01-01T00:01:00.000000Z', 'completed', 'met',"
        " 1.5, 0.0, 0, ?)",
        (json.dumps(report),),
    )
    db.execute(
        "INSERT INTO runs VALUES ('bare', 'complete-outage', 'sandbox', 'sandbox',"
        " '2025-01-02T00:00:00.000000Z', '2025-01-02T00:01:00.000000Z', 'completed', 'met',"
        " 2.5, NULL, NULL, NULL)"
    )
    db.commit()
    db.close()
    with History(path) as history:
        old = history.run("old")
        bare = history.run("bare")
        history.record(result("new", scenario="complete-outage"), invocation_id="inv-1")
        assert [r.run_id for r in history.latest_invocation("complete-outage")] == ["new"]
    assert old is not None and bare is not None
    assert old.invocation_id == "old" and bare.invocation_id == "bare"
    assert (old.ttd_seconds, old.downtime_seconds, old.p95_fault_seconds) == (0.25, 1.25, 0.125)
    assert old.verdict_reason == "met: rto 1.5 s"
    assert (bare.ttd_seconds, bare.rto_seconds, bare.verdict_reason) == (None, 2.5, "")
    db = sqlite3.connect(path)
    versions = db.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    db.close()
    assert versions == [(1,), (SCHEMA_VERSION,)]


def test_invocations_group_runs_and_the_newest_is_latest(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite") as history:
        for i, (invocation, day) in enumerate([("a", 1), ("a", 1), ("b", 2), ("b", 2), ("b", 2)]):
            anchor = f"2025-03-0{day}T00:00:00Z"
            history.record(
                result(f"r{i}", anchor_utc=anchor, started_at=i), invocation_id=invocation
            )
        latest = history.latest_invocation("database-failover")
        assert [r.run_id for r in latest] == ["r2", "r3", "r4"]
        assert {r.invocation_id for r in latest} == {"b"}
        before = history.met_runs_before("database-failover", "sandbox", latest[0].started_at, 10)
        assert [r.run_id for r in before] == ["r1", "r0"]
        assert history.latest_invocation("complete-outage") == []
