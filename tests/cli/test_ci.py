"""`drills ci --emit`: valid YAML whose every `drills` command parses, history kept or shared."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from drills.cadence import cadence_named
from drills.cli.main import cli
from drills.errors import ExitCode
from tests.cli.test_gate_cli import run_drills
from tests.drills_process import one_line


def drills_commands(script_lines: list[str]) -> list[list[str]]:
    """The `drills` argument lists of `python3 dev.py drills ...` lines (shell suffix dropped)."""
    found = []
    for line in script_lines:
        # the CI system's variables as it would expand them (a pipeline's ids)
        expanded = re.sub(r"\$(\w+)", lambda m: f"{m.group(1).lower()}7", line.split("||")[0])
        words = shlex.split(expanded)
        if words[:3] == ["python3", "dev.py", "drills"]:
            found.append(words[3:])
    return found


def parses(args: list[str]) -> None:
    group_ctx = cli.make_context("drills", list(args), resilient_parsing=False)
    command = cli.get_command(group_ctx, args[0])
    assert command is not None, args
    command.make_context(args[0], list(args[1:]))  # raises a UsageError when invalid


def script(emitted: dict[str, Any], system: str) -> list[str]:
    if system == "gitlab":
        return list(emitted["drills"]["script"])
    steps = emitted["jobs"]["drills"]["steps"]
    return [line for step in steps for line in str(step.get("run", "")).splitlines() if line]


@pytest.mark.parametrize("system", ["github", "gitlab"])
@pytest.mark.parametrize("team", [False, True])
def test_the_pipeline_runs_repeated_drills_then_the_gate(
    system: str, team: bool, tmp_path: Path
) -> None:
    args = ["ci", "--emit", system, "--scenario", "complete-outage"]
    args += ["--scenario", "database-failover", "--repeat", "6"]
    done = run_drills(tmp_path, *args, *(["--team-history"] if team else []))
    assert done.returncode == 0, done.stderr
    emitted = yaml.safe_load(done.stdout)
    commands = drills_commands(script(emitted, system))
    assert [c[:2] for c in commands] == [
        ["run", "complete-outage"],
        ["run", "database-failover"],
        ["gate", "--out"],
    ]
    assert all(c[2:4] == ["--repeat", "6"] for c in commands[:2])
    # one invocation id per pipeline, from the CI system's ids, for every run and the gate
    invocations = {c[c.index("--invocation") + 1] for c in commands}
    assert len(invocations) == 1
    (invocation,) = invocations
    assert invocation.startswith(system) and "7-" in invocation
    for command in commands:
        parses(command)
    text = done.stdout
    if team:
        assert "DRILLS_HISTORY" in text and "cache" not in text
    else:
        assert ".drills/history.sqlite" in text and "DRILLS_HISTORY" not in text
    if system == "github":
        steps = emitted["jobs"]["drills"]["steps"]
        always = [s for s in steps if s.get("if") == "always()"]
        assert any("upload-artifact" in s["uses"] for s in always)
        assert team or any("cache/save" in s["uses"] for s in always)
    else:
        job = emitted["drills"]
        assert job["artifacts"]["reports"]["junit"] == "drill-gate/gate.xml"
        assert team or job["cache"]["when"] == "always"


def test_a_bad_request_is_one_line_exit_2(tmp_path: Path) -> None:
    done = run_drills(tmp_path, "ci", "--emit", "github", "--scenario", "meteor-strike")
    assert done.returncode == ExitCode.USAGE
    assert "unknown scenario 'meteor-strike'" in one_line(done.stderr)
    done = run_drills(tmp_path, "ci", "--emit", "github", "--repeat", "3")
    assert done.returncode == ExitCode.USAGE
    assert "at least 4 runs" in one_line(done.stderr)
    with pytest.raises(click.UsageError):
        parses(["run", "complete-outage", "--repeat", "0"])


def test_a_suite_pipeline_runs_the_cadence_tables_drills(tmp_path: Path) -> None:
    done = run_drills(tmp_path, "ci", "--emit", "gitlab", "--suite", "monthly")
    assert done.returncode == 0, done.stderr
    commands = drills_commands(script(yaml.safe_load(done.stdout), "gitlab"))
    drills = [c[1] for c in commands if c[0] == "run"]
    assert drills == list(cadence_named("monthly").drills)
    assert commands[-1][5:] == drills  # and the gate judges exactly those
    done = run_drills(tmp_path, "ci", "--emit", "gitlab", "--suite", "weekly")
    assert done.returncode == ExitCode.USAGE
    assert "no scenarios in suite 'weekly'" in one_line(done.stderr)
    done = run_drills(tmp_path, "ci", "--emit", "gitlab", "--suite", "monthly", "--scenario", "x")
    assert done.returncode == ExitCode.USAGE


def test_the_readme_shows_the_workflow_drills_ci_emits(tmp_path: Path) -> None:
    """README's "Gate recovery time in CI" holds the emitted workflow, not an older one."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Gate recovery time in CI") :]
    start = section.index("```yaml\n") + len("```yaml\n")
    shown = section[start : section.index("```\n", start)]
    done = run_drills(tmp_path, "ci", "--emit", "github")
    assert done.returncode == 0, done.stderr
    assert shown == done.stdout


@pytest.mark.parametrize("system", ["github", "gitlab"])
def test_only_a_verdict_the_gate_judges_lets_the_pipeline_go_on(
    system: str, tmp_path: Path
) -> None:
    """After `drills run`, the emitted shell goes on to the gate for 0, 1 (missed) and 3
    (aborted, invalid): the gate judges those runs. 2 (bad input), 4 (a crash: the runs after it
    never happened) and 5 (no run folder) stop the pipeline: a gate over the runs that survived
    a crash could pass."""
    done = run_drills(tmp_path, "ci", "--emit", system)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in script(yaml.safe_load(done.stdout), system) if " run " in line]
    command, handler = line.split("||", 1)
    assert "drills run" in command
    for code in range(6):
        shell = subprocess.run(["sh", "-c", f"(exit {code}) || {handler}"], check=False)
        assert (shell.returncode == 0) is (code in (0, 1, 3)), (code, handler)
