"""`drills baseline pin|reset` (the reason shows in every later gate) and `drills history
export|import` (JSON lines, all or nothing)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from drills.errors import ExitCode
from drills.history import History
from drills.models import Verdict
from tests.cli.test_gate_cli import gate
from tests.cli.test_gate_cli import run_drills as drills
from tests.drills_process import one_line
from tests.engine.seeded import Seeder, noisy
from tests.postgres_history import TeamPostgres


def seed(home: Path) -> tuple[list[str], list[str]]:
    """Fast old runs, a missed run, then a slower invocation: (fast ids, slow ids)."""
    rng = random.Random(9)
    with History(home / "history.sqlite") as history:
        seeder = Seeder(history)
        fast = seeder.invocation(noisy(rng, 6, 1.0, 0.05))
        seeder.invocation([1.0], verdicts=[Verdict.MISSED], name="missed")
        slow = seeder.invocation(noisy(rng, 5, 3.0, 0.05))
    return fast, slow


def test_pin_makes_chosen_runs_the_baseline_and_shows_why(tmp_path: Path) -> None:
    _, slow = seed(tmp_path)
    assert gate(tmp_path).returncode == ExitCode.MISSED  # 3 s against 1 s
    done = drills(tmp_path, "baseline", "pin", *slow, "--reason", "sync replication: slower, safer")
    assert done.returncode == 0, done.stderr
    with History(tmp_path / "history.sqlite") as history:
        Seeder(history, count=100).invocation(noisy(random.Random(2), 4, 3.0, 0.05))
    done = gate(tmp_path)
    assert done.returncode == 0, done.stdout
    assert "5 pinned run(s)" in done.stdout and "sync replication: slower, safer" in done.stdout


def test_reset_starts_afresh_and_shows_why(tmp_path: Path) -> None:
    seed(tmp_path)
    done = drills(tmp_path, "baseline", "reset", "complete-outage", "--reason", "new design")
    assert done.returncode == 0, done.stderr
    with History(tmp_path / "history.sqlite") as history:
        Seeder(history, count=10**6).invocation([3.0, 3.1, 2.9])
    done = gate(tmp_path)
    assert done.returncode == 0
    assert "since the reset: new design" in done.stdout and "objectives only" in done.stdout


def test_pin_and_reset_refuse_bad_input_in_one_line(tmp_path: Path) -> None:
    fast, _ = seed(tmp_path)
    cases = [
        (["pin", "no-such-run", "--reason", "x"], "unknown run id(s)"),
        (["pin", fast[0], "complete-outage-000007", "--reason", "x"], "only met runs"),
        (["pin", fast[0], "--reason", "  "], "--reason must say why"),
        (["reset", "meteor-strike", "--reason", "x"], "unknown scenario 'meteor-strike'"),
    ]
    for args, message in cases:
        done = drills(tmp_path, "baseline", *args)
        assert done.returncode == ExitCode.USAGE, (args, done.stderr)
        assert message in one_line(done.stderr)
    with History(tmp_path / "history.sqlite") as history:
        assert history.latest_mark("complete-outage") is None


def test_export_import_round_trip_is_exact_and_idempotent(tmp_path: Path) -> None:
    seed(tmp_path)
    drills(tmp_path, "baseline", "reset", "complete-outage", "--reason", "why not")
    exported = drills(tmp_path, "history", "export")
    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    assert len(lines) == 12 + 1 and json.loads(lines[-1])["type"] == "baseline-mark"
    dump = tmp_path / "runs.jsonl"
    dump.write_text(exported.stdout)
    team = tmp_path / "team.sqlite"
    for _ in range(2):  # importing twice changes nothing
        done = drills(tmp_path, "history", "import", str(dump), DRILLS_HISTORY=str(team))
        assert done.returncode == 0, done.stderr
        assert "imported 12 run(s) and 1 baseline mark(s)" in done.stderr
    again = drills(tmp_path, "history", "export", DRILLS_HISTORY=str(team))
    assert again.stdout == exported.stdout
    first = json.loads(gate(tmp_path, "--json").stdout)
    second = json.loads(gate(tmp_path, "--json", DRILLS_HISTORY=str(team)).stdout)
    assert first == second


def test_a_bad_import_line_writes_nothing(tmp_path: Path) -> None:
    seed(tmp_path)
    lines = drills(tmp_path, "history", "export").stdout.splitlines()
    broken = dict(json.loads(lines[2]), rto_seconds="fast")
    dump = tmp_path / "bad.jsonl"
    dump.write_text("\n".join([lines[0], lines[1], json.dumps(broken), *lines[3:]]) + "\n")
    team = tmp_path / "team.sqlite"
    done = drills(tmp_path, "history", "import", str(dump), DRILLS_HISTORY=str(team))
    assert done.returncode == ExitCode.USAGE
    assert f"{dump}:3: 'rto_seconds' must be a number or null" in one_line(done.stderr)
    with History(team) as history:
        assert history.all_runs() == []
    (tmp_path / "binary.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    done = drills(tmp_path, "history", "import", str(tmp_path / "binary.jsonl"))
    assert done.returncode == ExitCode.USAGE and "not UTF-8" in one_line(done.stderr)


def test_runs_move_from_sqlite_into_a_team_postgresql_history(
    team_pg: TeamPostgres, tmp_path: Path
) -> None:
    seed(tmp_path)
    dump = tmp_path / "runs.jsonl"
    assert drills(tmp_path, "history", "export", "-o", str(dump)).returncode == 0
    team = team_pg.url(team_pg.new_database())
    for _ in range(2):
        done = drills(tmp_path, "history", "import", str(dump), DRILLS_HISTORY=team)
        assert done.returncode == 0, done.stderr
    back = drills(tmp_path, "history", "export", DRILLS_HISTORY=team)
    assert back.stdout == dump.read_text()
    first = json.loads(gate(tmp_path, "--json").stdout)
    second = json.loads(gate(tmp_path, "--json", DRILLS_HISTORY=team).stdout)
    assert first == second and first["decision"] == "fail"
