"""`drills gate` as a CI runs it: exit codes, the explanation, the files, bad input."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import psycopg

from drills.errors import ExitCode
from drills.history import History
from tests import drills_process
from tests.drills_process import one_line
from tests.engine.seeded import Seeder, noisy
from tests.postgres_history import TeamPostgres


def run_drills(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`drills ARGS` with DRILLS_HOME=home and nothing else from this environment."""
    return drills_process.run_drills(*args, home=home, env=env)


def gate(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_drills(home, "gate", *args, **env)


def seed(home: Path, new_median: float, new_runs: int = 4) -> None:
    rng = random.Random(5)
    with History(home / "history.sqlite") as history:
        seeder = Seeder(history)
        seeder.invocation(noisy(rng, 10, 1.5, 0.1))
        seeder.invocation(noisy(rng, new_runs, new_median, 0.1))


def test_a_regression_fails_with_an_explanation_and_every_file(tmp_path: Path) -> None:
    seed(tmp_path, 7.5)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    out = tmp_path / "gate-out"
    done = gate(tmp_path, "--out", str(out), GITHUB_STEP_SUMMARY=str(summary))
    assert done.returncode == ExitCode.MISSED, done.stderr
    assert "FAIL complete-outage on sandbox" in done.stdout
    assert "RTO: regression: median 1." in done.stdout and "<= alpha 0.01" in done.stdout
    assert summary.read_text().startswith("earlier step\n## drills gate: FAIL")
    junit = ET.parse(out / "gate.xml").getroot()
    failures = {c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None}
    assert {"rto", "downtime"} <= failures
    assert json.loads((out / "gate.json").read_text())["decision"] == "fail"
    assert "| RTO (s) |" in (out / "gate.md").read_text()


def test_no_change_passes_and_json_says_why(tmp_path: Path) -> None:
    seed(tmp_path, 1.5, new_runs=5)
    done = gate(tmp_path, "complete-outage", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["decision"] == "pass"
    (scenario,) = report["scenarios"]
    rto = next(m for m in scenario["metrics"] if m["metric"] == "rto")
    assert rto["decision"] == "pass" and len(rto["baseline"]) == 10 and len(rto["new"]) == 5


def test_too_few_runs_cannot_decide_loudly_and_strict_fails(tmp_path: Path) -> None:
    seed(tmp_path, 7.5, new_runs=2)
    done = gate(tmp_path)
    assert done.returncode == 0
    assert "CANNOT DECIDE complete-outage" in done.stdout
    assert "cannot show it: the smallest possible p is 0.0152 > alpha 0.01" in done.stdout
    assert gate(tmp_path, "--strict").returncode == ExitCode.MISSED


def test_unknown_scenario_is_one_line_exit_2(tmp_path: Path) -> None:
    seed(tmp_path, 1.5)
    done = gate(tmp_path, "meteor-strike")
    assert done.returncode == ExitCode.USAGE
    assert "unknown scenario 'meteor-strike'" in one_line(done.stderr)
    done = gate(tmp_path, "database-failover")  # in the catalog, never run
    assert done.returncode == ExitCode.USAGE
    assert "has no run in history" in one_line(done.stderr)


def test_a_corrupt_or_foreign_history_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "history.sqlite").write_bytes(b"garbage, not a database\n" * 300)
    done = gate(tmp_path)
    assert done.returncode == ExitCode.USAGE
    assert "not a drills history" in one_line(done.stderr)
    foreign = tmp_path / "foreign.sqlite"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE invoices (id INTEGER)")
    db.commit()
    db.close()
    done = gate(tmp_path, DRILLS_HISTORY=str(foreign))
    assert done.returncode == ExitCode.USAGE
    assert "not a drills history" in one_line(done.stderr)


def test_no_history_and_bad_options_are_exit_2(tmp_path: Path) -> None:
    done = gate(tmp_path)
    assert done.returncode == ExitCode.USAGE
    assert "no history at" in one_line(done.stderr)
    seed(tmp_path, 1.5)
    done = gate(tmp_path, "--alpha", "2")
    assert done.returncode == ExitCode.USAGE and "--alpha" in one_line(done.stderr)
    done = gate(tmp_path, "--min-absolute", "rto")
    assert done.returncode == ExitCode.USAGE and "METRIC=NUMBER" in one_line(done.stderr)


def test_a_team_postgresql_history_gates_without_showing_its_password(
    team_pg: TeamPostgres, tmp_path: Path
) -> None:
    url = team_pg.url(team_pg.new_database())
    rng = random.Random(5)
    with History(url) as history:
        seeder = Seeder(history)
        seeder.invocation(noisy(rng, 10, 1.5, 0.1))
        seeder.invocation(noisy(rng, 4, 7.5, 0.1))
    out = tmp_path / "gate-out"
    done = gate(tmp_path, "--out", str(out), DRILLS_HISTORY=url)
    assert done.returncode == ExitCode.MISSED, done.stderr
    assert "RTO: regression: median 1." in done.stdout
    listed = run_drills(tmp_path, "history", DRILLS_HISTORY=url)
    assert listed.returncode == 0 and "complete-outage" in listed.stdout
    texts = [done.stdout, done.stderr, listed.stdout, listed.stderr]
    texts += [p.read_text() for p in out.iterdir()]
    assert all(team_pg.password not in text for text in texts)


def test_an_unreachable_or_foreign_history_url_is_one_line_exit_2(
    team_pg: TeamPostgres, tmp_path: Path
) -> None:
    database = team_pg.new_database()
    unreachable = f"postgresql://drills_team:{team_pg.password}@127.0.0.1:1/{database}"
    wrong_password = team_pg.url(database, password="wrong-" + team_pg.password)
    foreign = team_pg.url(team_pg.new_database())
    with psycopg.connect(foreign, autocommit=True) as conn:
        conn.execute("CREATE TABLE runs (invoice INTEGER)")
    for url, message in [
        (unreachable, "cannot connect"),
        (wrong_password, "password authentication failed"),
        (foreign, "not a drills history"),
    ]:
        done = gate(tmp_path, DRILLS_HISTORY=url)
        assert done.returncode == ExitCode.USAGE, done.stderr
        line = one_line(done.stderr)
        assert message in line and team_pg.password not in line


def test_invocation_names_the_pipelines_own_runs(tmp_path: Path) -> None:
    """A shared history where a CronJob ran after this pipeline: `--invocation` judges the
    pipeline's runs; an invocation never recorded is one line, exit 2."""
    rng = random.Random(5)
    with History(tmp_path / "history.sqlite") as history:
        seeder = Seeder(history)
        seeder.invocation(noisy(rng, 10, 1.5, 0.1))
        seeder.invocation(noisy(rng, 4, 7.5, 0.1), name="github-41-1")
        Seeder(history, kind="kubernetes", count=100).invocation([30.0] * 3, name="cron-7")
    assert gate(tmp_path).returncode == 0  # the newest: the CronJob's, with no baseline
    done = gate(tmp_path, "--invocation", "github-41-1", "complete-outage")
    assert done.returncode == ExitCode.MISSED, done.stdout + done.stderr
    assert "invocation github-41-1" in done.stdout and "RTO: regression" in done.stdout
    done = gate(tmp_path, "--invocation", "github-42-1")
    assert done.returncode == ExitCode.USAGE
    assert "no run of invocation 'github-42-1'" in one_line(done.stderr)


def test_run_refuses_an_invocation_id_a_ci_could_not_have_made(tmp_path: Path) -> None:
    done = run_drills(tmp_path, "run", "complete-outage", "--invocation", "two words")
    assert done.returncode == ExitCode.USAGE
    assert "Invalid value for '--invocation'" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_an_out_or_job_summary_it_cannot_write_is_one_line_exit_2(tmp_path: Path) -> None:
    seed(tmp_path, 1.5)
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way\n")
    done = gate(tmp_path, "--out", str(blocker / "gate-out"))
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert f"--out {blocker / 'gate-out'}: cannot write" in one_line(done.stderr)
    done = gate(tmp_path, GITHUB_STEP_SUMMARY=str(blocker / "summary.md"))
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert f"GITHUB_STEP_SUMMARY {blocker / 'summary.md'}: cannot append" in one_line(done.stderr)
