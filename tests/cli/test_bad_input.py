"""Bad input gets one clear line and a documented exit code, and changes nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from drills.errors import ExitCode
from tests.cli.invoke import invoke
from tests.drills_process import one_line, run_drills


def drills(*args: str, env_home: Path) -> subprocess.CompletedProcess[str]:
    return run_drills(*args, home=env_home)


def test_unknown_scenario(tmp_path: Path) -> None:
    done = drills("run", "meteor-strike", env_home=tmp_path)
    assert done.returncode == ExitCode.USAGE
    assert "unknown scenario 'meteor-strike'" in one_line(done.stderr)
    assert not (tmp_path / "runs").exists()


def test_malformed_experiment(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: [unclosed\n")
    done = drills("run", str(bad), env_home=tmp_path)
    assert done.returncode == ExitCode.USAGE
    assert "not valid YAML at line" in one_line(done.stderr)


def test_experiment_that_chaoslib_rejects(tmp_path: Path) -> None:
    bad = tmp_path / "no-method.yaml"
    bad.write_text("title: no method\ndescription: x\n")
    done = drills("run", str(bad), env_home=tmp_path)
    assert done.returncode == ExitCode.USAGE
    assert "'method' is a required property" in one_line(done.stderr)


def test_unknown_target(tmp_path: Path) -> None:
    done = drills("run", "complete-outage", "--target", "mainframe", env_home=tmp_path)
    assert done.returncode == ExitCode.USAGE
    assert "unknown target 'mainframe'" in one_line(done.stderr)


def test_malformed_profile(tmp_path: Path) -> None:
    profile = tmp_path / "staging.yaml"
    profile.write_text("kind: [\n")
    done = drills("run", "complete-outage", "--target", str(profile), env_home=tmp_path)
    assert done.returncode == ExitCode.USAGE
    assert "not valid YAML" in one_line(done.stderr)


def test_profile_of_unknown_kind(tmp_path: Path) -> None:
    profile = tmp_path / "staging.yaml"
    profile.write_text("kind: mainframe\nname: x\n")
    done = drills("run", "complete-outage", "--target", str(profile), env_home=tmp_path)
    assert done.returncode == ExitCode.USAGE
    assert "unknown kind 'mainframe'" in one_line(done.stderr)


def test_unreachable_sandbox_is_refused(tmp_path: Path) -> None:
    done = drills(
        "run", "complete-outage", "--target", f"sandbox:{tmp_path / 'none'}", env_home=tmp_path
    )
    assert done.returncode in (ExitCode.ABORTED, ExitCode.USAGE)
    assert "no sandbox in" in one_line(done.stderr)


def test_dry_run_prints_the_plan_and_touches_nothing(tmp_path: Path) -> None:
    done = drills("run", "complete-outage", "--dry-run", env_home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "crash-control-plane-and-databases  [fault]" in done.stdout
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["run"], "give a SCENARIO or --suite NAME"),
        (["run", "x", "--bogus"], "No such option '--bogus'"),
        (["sandbox", "explode"], "No such command 'explode'"),
        (["sandbox", "up", "--replicas", "-1"], "'--replicas': -1 is not in the range"),
        (["sandbox", "status", "--state-dir", __file__], "is a file"),
        (["sandbox", "logs", "redis", "-n", "-5"], "'--lines' / '-n': -5 is not in the range"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, args: list[str], says: str) -> None:
    """Click's own errors too: one line naming the help to read, not a usage block (issue 9)."""
    done = drills(*args, env_home=tmp_path)
    assert done.returncode == ExitCode.USAGE
    line = one_line(done.stderr)
    assert line.startswith("drills: error: ") and says in line, line
    assert line.endswith("--help`)"), line


def test_list_names_the_scenarios(tmp_path: Path) -> None:
    done = drills("list", env_home=tmp_path)
    assert done.returncode == 0
    assert "complete-outage" in done.stdout


def test_schedule_emits_cronjobs_and_refuses_production(tmp_path: Path) -> None:
    import yaml

    done = drills(
        "schedule",
        "--emit",
        "kubernetes",
        "--namespace",
        "drills-staging",
        "--image",
        "drills:1",
        env_home=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    kinds = [doc["kind"] for doc in yaml.safe_load_all(done.stdout) if doc]
    assert kinds.count("CronJob") == 3  # the annual rebuild cannot run on a cluster
    assert "left out infrastructure-rebuild" in done.stderr
    assert {"ServiceAccount", "Role", "RoleBinding"} <= set(kinds)
    refused = drills(
        "schedule",
        "--emit",
        "kubernetes",
        "--namespace",
        "intelgraph-prod",
        "--image",
        "drills:1",
        env_home=tmp_path,
    )
    assert refused.returncode == ExitCode.ABORTED
    assert "looks like production" in one_line(refused.stderr)


def test_suite_and_scenario_are_exclusive(tmp_path: Path) -> None:
    done = drills("run", "complete-outage", "--suite", "quarterly", env_home=tmp_path)
    assert done.returncode == ExitCode.USAGE
    assert drills("run", "--suite", "fortnightly", env_home=tmp_path).returncode == ExitCode.USAGE


def test_history_on_a_fresh_home_says_so(tmp_path: Path) -> None:
    done = drills("history", env_home=tmp_path)
    assert done.returncode == 0
    assert "no history yet" in done.stderr


def test_due_on_a_fresh_home_lists_every_cadence_drill_overdue(tmp_path: Path) -> None:
    import json

    done = drills("due", "--json", env_home=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert {r["cadence"] for r in rows} == {"monthly", "quarterly", "semi-annual", "annual"}
    assert {r["state"] for r in rows} == {"overdue"}
    assert drills("due", "--fail-if-overdue", env_home=tmp_path).returncode == 1


BAD_VARS = {
    "--var without a value": ["--var", "x"],
    "--var of the wrong type": ["--var", "x:int=a"],
    "--var of an unknown type": ["--var", "x:bogus=1"],
    "--var-file that does not exist": ["--var-file", "/nonexistent/vars.json"],
    "--var-file that is binary": ["--var-file", "{binary}"],
    "--var-file that is a list": ["--var-file", "{a_list}"],
    "--chaos-settings that do not exist": ["--chaos-settings", "/nonexistent/settings.yaml"],
    "--hypothesis-frequency nan": ["--hypothesis-frequency", "nan"],
    "--hypothesis-frequency -1": ["--hypothesis-frequency", "-1"],
    "--hypothesis-frequency inf": ["--hypothesis-frequency", "inf"],
}


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
@pytest.mark.parametrize("args", BAD_VARS.values(), ids=BAD_VARS.keys())
def test_chaos_toolkit_options_are_checked_before_anything_starts(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    dry_run: bool,
) -> None:
    """On main they were read only once a fresh sandbox ran: a list in a var file crashed the
    drill (exit 4), a missing var file was ignored, and a dry run never looked at them."""
    (tmp_path / "binary.json").write_bytes(bytes(range(256)))
    (tmp_path / "list.json").write_text("[1, 2]")
    args = [a.format(binary=tmp_path / "binary.json", a_list=tmp_path / "list.json") for a in args]
    done = invoke(
        capsys,
        monkeypatch,
        tmp_path,
        *("run", "complete-outage", *args, *(["--dry-run"] if dry_run else [])),
    )
    assert done.code == ExitCode.USAGE, done.stderr + done.stdout
    assert done.line().startswith("drills: error: "), done.stderr
    assert "Starting a fresh sandbox" not in done.stderr + done.stdout
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "args",
    [["--var", "x=1"], ["--fault", "crash"], ["--fail-fast"], ["--rollback-strategy", "never"]],
)
def test_options_of_one_drill_are_refused_with_a_suite(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
) -> None:
    """On main a suite ran every drill without them, saying nothing."""
    done = invoke(capsys, monkeypatch, tmp_path, "run", "--suite", "monthly", *args)
    assert done.code == ExitCode.USAGE, done.stderr + done.stdout
    assert args[0] in done.line() and "not with --suite" in done.line()
    assert "Starting a fresh sandbox" not in done.stderr + done.stdout
