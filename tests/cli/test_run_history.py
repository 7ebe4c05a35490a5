"""`drills run` with a history it cannot use: one line, exit 2, before anything is injected.

A corrupt SQLite file, a foreign database, a history written by a newer drills, an unreachable or
foreign team URL: refused before a sandbox starts (a drill recorded nowhere proves nothing to the
gate, and a `--repeat 5` would waste five drills), and the history is left as it was.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from drills.errors import ExitCode
from drills.history import SCHEMA_VERSION, History
from tests.drills_process import one_line, run_drills
from tests.postgres_history import TeamPostgres


def corrupt(path: Path) -> bytes:
    data = b"garbage, not a database\n" * 300
    path.write_bytes(data)
    return data


def foreign(path: Path) -> bytes:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER)")
    db.commit()
    db.close()
    return path.read_bytes()


def newer(path: Path) -> bytes:
    with History(path):
        pass
    db = sqlite3.connect(path)
    db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (corrupt, "not a drills history"),
        (foreign, "not a drills history"),
        (newer, "is newer than this drills understands"),
    ],
)
@pytest.mark.parametrize("repeat", ["1", "3"])
def test_a_bad_sqlite_history_refuses_the_run_in_one_line(
    tmp_path: Path, make: object, message: str, repeat: str
) -> None:
    history = tmp_path / "team.sqlite"
    before = make(history)  # type: ignore[operator]
    done = run_drills(
        "run",
        "complete-outage",
        "--repeat",
        repeat,
        home=tmp_path / "home",
        env={"DRILLS_HISTORY": str(history)},
        timeout=180,
    )
    assert done.returncode == ExitCode.USAGE, done.stderr[-2000:]
    line = one_line(done.stderr)
    assert str(history) in line and message in line
    assert "nothing was run" in line
    assert history.read_bytes() == before
    assert not (tmp_path / "home" / "runs").exists()


def test_an_unreachable_or_foreign_team_history_refuses_the_run(
    team_pg: TeamPostgres, tmp_path: Path
) -> None:
    unreachable = f"postgresql://drills_team:{team_pg.password}@127.0.0.1:1/nowhere"
    other = team_pg.url(team_pg.new_database())
    with psycopg.connect(other, autocommit=True) as conn:
        conn.execute("CREATE TABLE runs (invoice INTEGER)")
    for url, message in [(unreachable, "cannot connect"), (other, "not a drills history")]:
        done = run_drills(
            "run", "complete-outage", home=tmp_path, env={"DRILLS_HISTORY": url}, timeout=180
        )
        assert done.returncode == ExitCode.USAGE, done.stderr[-2000:]
        line = one_line(done.stderr)
        assert message in line and "nothing was run" in line
        assert team_pg.password not in line
    assert not (tmp_path / "runs").exists()


def test_a_suite_with_a_bad_history_is_one_line_not_a_refusal_per_drill(tmp_path: Path) -> None:
    history = tmp_path / "team.sqlite"
    before = corrupt(history)
    done = run_drills(
        "run",
        "--suite",
        "monthly",
        home=tmp_path / "home",
        env={"DRILLS_HISTORY": str(history)},
        timeout=300,
    )
    assert done.returncode == ExitCode.USAGE, done.stderr[-2000:]
    assert "not a drills history" in one_line(done.stderr)
    assert history.read_bytes() == before
    assert not (tmp_path / "home" / "runs").exists()
