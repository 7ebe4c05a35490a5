"""`drills runbook coverage`: experiments' activities mapped to the runbook's steps."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from click.testing import CliRunner

from drills.cli.main import cli
from drills.runbook import Runbook, read_runbook_text
from drills.runbook.coverage import coverage
from drills.runbook.steps import Step
from tests.runbook.conftest import RUNBOOK

ONE_ACTIVITY = """\
version: 1.0.0
title: Restart Redis
description: one activity
tags: [runbook:scenario-1]
method:
  - type: action
    name: restart-redis
    provider:
      type: python
      module: drills.actions.components
      func: restart_component
      arguments: {component: redis}
"""


def lines(steps: Sequence[Step]) -> list[int]:
    return [s.origin.line for s in steps]


def test_shipped_experiments_against_the_runbook(runbook: Runbook) -> None:
    report = coverage(runbook)
    by_name = {e.name: e for e in report.experiments}
    connection = lines(by_name["database-connection-failure"].steps)
    assert {193, 196} <= set(connection)  # the postgres and the neo4j breaker resets
    assert 173 in connection and 176 not in connection  # postgres logs, not neo4j
    outage = lines(by_name["complete-outage"].steps)
    assert {120, 128, 131, 134} <= set(outage)  # rollout restart statefulset/neo4j included
    corruption = lines(by_name["data-corruption"].steps)
    assert {303, 306, 335, 338, 341} <= set(corruption)  # restore-neo4j.sh --backup-id
    # the alerting drill exercises "Validate monitoring and alerting" (its tag says which step)
    assert 454 in lines(by_name["monitoring-alerts"].steps)
    never = lines(report.never)
    assert 205 in never and not {131, 196, 338, 454} & set(never)
    assert not set(never) & {s.origin.line for e in report.experiments for s in e.steps}


def test_one_activity_exercises_exactly_its_steps(runbook: Runbook, tmp_path: Path) -> None:
    (tmp_path / "restart-redis.yaml").write_text(ONE_ACTIVITY)
    report = coverage(runbook, tmp_path)
    (only,) = report.experiments
    assert lines(only.steps) == [134]  # kubectl rollout restart deployment/redis
    assert only.runbook_tags == ("runbook:scenario-1",)
    assert len(report.never) == len(runbook.steps) - 1


def test_cli_text_and_json() -> None:
    text = CliRunner().invoke(cli, ["runbook", "coverage", str(RUNBOOK)])
    assert text.exit_code == 0, text.output
    assert "never exercised by any drill" in text.output
    as_json = CliRunner().invoke(cli, ["runbook", "coverage", str(RUNBOOK), "--json"])
    document = json.loads(as_json.output)
    assert document["steps"] == 61
    assert document["exercised"] == 61 - len(document["never_exercised"])


def test_an_unknown_command_is_listed_as_never_exercised() -> None:
    text = RUNBOOK.read_text(encoding="utf-8").replace(
        "   kubectl get nodes\n", "   kubectl get nodes\n   helm rollback maestro 3\n", 1
    )
    report = coverage(read_runbook_text(text, RUNBOOK))
    (unknown,) = [s for s in report.never if s.kind.value == "unknown"]
    assert (
        unknown.subject() == "helm rollback maestro 3" and unknown.origin.scenario == "Scenario 1"
    )
    assert report.total == 62
