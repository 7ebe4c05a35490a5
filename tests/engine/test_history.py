"""Run history in SQLite: recording, idempotence, queries, and refusing files that are not ours."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from drills.errors import InputError
from drills.history import SCHEMA_VERSION, History, HistoryRun
from drills.models import RunStatus, Verdict
from drills.settings import Settings
from tests.engine.builders import measurements, result
from tests.postgres_history import TeamPostgres


def test_a_sqlite_history_creates_its_folders(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "history.sqlite"
    with History(path) as history:
        history.record(result("r1"))
    assert path.exists()


def test_record_and_read_back(history_location: Path | str) -> None:
    report = {"schema": "drills.report/v1", "verdict": "met", "note": "é"}
    with History(history_location) as history:
        history.record(result("r1", started_at=1.5, ended_at=61.25), report)
        runs = history.runs()
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


def test_record_is_idempotent_and_keeps_an_earlier_report(history_location: Path | str) -> None:
    with History(history_location) as history:
        history.record(result("r1", verdict=Verdict.MISSED), {"v": 1})
        history.record(result("r1", verdict=Verdict.MET))
        history.record(result("r1", verdict=Verdict.MET))
        runs = history.runs()
    assert len(runs) == 1
    assert runs[0].verdict is Verdict.MET
    assert runs[0].report() == {"v": 1}


def test_runs_newest_first_filtered_and_limited(history_location: Path | str) -> None:
    with History(history_location) as history:
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


def test_rto_seconds_are_measured_values_newest_first(history_location: Path | str) -> None:
    with History(history_location) as history:
        for day, rto in [(1, 10.0), (2, None), (3, 30.0), (4, 40.0)]:
            m = measurements(rto_seconds=rto)
            history.record(result(f"d{day}", anchor_utc=f"2025-03-0{day}T00:00:00Z", m=m))
        assert history.rto_seconds("database-failover") == [40.0, 30.0, 10.0]
        assert history.rto_seconds("database-failover", limit=2) == [40.0, 30.0]
        assert history.rto_seconds("database-failover", target="elsewhere") == []
        assert history.rto_seconds("complete-outage") == []


def test_last_run_at(history_location: Path | str) -> None:
    with History(history_location) as history:
        assert history.last_run_at("database-failover") is None
        history.record(result("a", anchor_utc="2025-03-01T00:00:00Z", started_at=5.0))
        history.record(result("b", anchor_utc="2025-03-02T00:00:00Z", verdict=Verdict.INVALID))
        assert history.last_run_at("database-failover") == datetime(2025, 3, 2, tzinfo=UTC)
        proved = history.last_run_at("database-failover", verdicts=(Verdict.MET, Verdict.MISSED))
        assert proved == datetime(2025, 3, 1, 0, 0, 5, tzinfo=UTC)
        assert history.last_run_at("database-failover", verdicts=()) is None
        assert history.last_run_at("database-failover", target="nope") is None


def test_history_survives_reopening(history_location: Path | str) -> None:
    path = history_location
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


def test_a_bad_anchor_is_an_input_error(history_location: Path | str) -> None:
    with History(history_location) as history, pytest.raises(InputError, match="anchor"):
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
        history.record(
            result("new", scenario="complete-outage"), invocation_id="inv-1", run_dir=path.parent
        )
        history.record(result("new", scenario="complete-outage"), invocation_id="inv-1")
        assert [r.run_id for r in history.latest_invocation("complete-outage")] == ["new"]
        new = history.run("new")
        assert new is not None and new.run_dir == str(path.parent)  # kept when not given again
    assert old is not None and bare is not None
    assert old.invocation_id == "old" and bare.invocation_id == "bare"
    assert (old.ttd_seconds, old.downtime_seconds, old.p95_fault_seconds) == (0.25, 1.25, 0.125)
    assert old.verdict_reason == "met: rto 1.5 s"
    assert (bare.ttd_seconds, bare.rto_seconds, bare.verdict_reason) == (None, 2.5, "")
    assert old.run_dir is None  # recorded before runs kept their folder
    db = sqlite3.connect(path)
    versions = db.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    db.close()
    assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]  # every step, in order


def test_invocations_group_runs_and_the_newest_is_latest(history_location: Path | str) -> None:
    with History(history_location) as history:
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


def test_concurrent_writers_lose_nothing(history_location: Path | str) -> None:
    """Four writers open a new history at once (one migration) and record 40 runs each."""

    def write(worker: int) -> None:
        with History(history_location) as history:
            for i in range(40):
                history.record(result(f"w{worker}-{i}"), invocation_id=f"w{worker}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))
    with History(history_location) as history:
        assert len(history.runs(limit=1000)) == 160
        assert {len(history.runs_by_id([f"w{w}-{i}" for i in range(40)])) for w in range(4)} == {40}


def test_a_foreign_postgresql_database_is_refused(team_pg: TeamPostgres) -> None:
    url = team_pg.url(team_pg.new_database())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE runs (invoice INTEGER)")
    with pytest.raises(InputError, match="not a drills history"):
        History(url)


def test_a_newer_postgresql_schema_is_refused(team_pg: TeamPostgres) -> None:
    url = team_pg.url(team_pg.new_database())
    History(url).close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(InputError, match="newer"):
        History(url)


def test_postgresql_errors_never_show_the_password(team_pg: TeamPostgres) -> None:
    database = team_pg.new_database()
    wrong = "not-the-" + team_pg.password
    with pytest.raises(InputError) as info:
        History(team_pg.url(database, password=wrong))
    message = str(info.value)
    assert "cannot connect" in message and "password authentication failed" in message
    assert wrong not in message and team_pg.password not in message and "\n" not in message
    assert f"postgresql://drills_team@127.0.0.1:{team_pg.port}/{database}" in message
    with pytest.raises(InputError, match="cannot connect") as info:
        History(f"postgresql://drills_team:{team_pg.password}@127.0.0.1:1/{database}")
    assert team_pg.password not in str(info.value)
    with pytest.raises(InputError, match="not a valid PostgreSQL URL") as info:
        History("postgresql://drills_team:hunter2@[::1/db")
    assert "hunter2" not in str(info.value)


def test_drills_history_names_a_file_or_a_team_url() -> None:
    url = "postgresql://team:secret@db.example:5432/drills"
    settings = Settings.from_environ({"DRILLS_HOME": "/srv/drills", "DRILLS_HISTORY": url})
    assert settings.history_location == url
    settings = Settings.from_environ({"DRILLS_HOME": "/srv/drills", "DRILLS_HISTORY": "/h.db"})
    assert settings.history_location == Path("/h.db")
    settings = Settings.from_environ({"DRILLS_HOME": "/srv/drills"})
    assert settings.history_location == Path("/srv/drills/history.sqlite")
