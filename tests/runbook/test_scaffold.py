"""`drills runbook scaffold`: drafts that chaoslib accepts, for every scenario, and one that runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from chaoslib.experiment import ensure_experiment_is_valid
from click.testing import CliRunner

from drills.cli.main import cli
from drills.runbook import Runbook
from tests.conftest import running_sandbox
from tests.runbook.conftest import RUNBOOK

SCENARIOS = ("Scenario 1", "Scenario 2", "Scenario 3", "Scenario 4")


def draft(name: str) -> tuple[str, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["runbook", "scaffold", str(RUNBOOK), "--scenario", name])
    assert result.exit_code == 0, result.output
    return result.output, yaml.safe_load(result.output)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_drafts_a_valid_experiment(name: str, runbook: Runbook) -> None:
    text, experiment = draft(name)
    ensure_experiment_is_valid(experiment)  # raises on anything chaoslib would refuse
    assert text.startswith("# Draft experiment")
    method = experiment["method"]
    faults = sum("fault" in (a.get("tags") or []) for a in method)
    assert faults >= 1  # scenario 4 has two: rows and graph nodes corrupted
    steps = runbook.scenario(name).steps
    assert len(method) == len(steps) + faults  # the faults, then one activity per runbook step
    named = [a["name"] for a in method[faults:]]
    assert [int(n.removeprefix("TODO-").split("-")[0][1:]) for n in named] == [
        s.origin.line for s in steps
    ]
    for activity in method[faults:]:
        placeholder = activity["name"].startswith("TODO-")
        assert placeholder == (activity["provider"]["module"] == "drills.probes.runbook")
    assert experiment["configuration"]["runbook_rto_seconds"] == 900.0
    assert f"runbook:scenario-{name.split()[-1]}" in experiment["tags"]


def test_mapped_steps_become_our_actions() -> None:
    _, experiment = draft("Scenario 2")
    by_line = {a["name"].split("-")[0]: a for a in experiment["method"][1:]}
    reset = by_line["L193"]["provider"]
    assert (reset["module"], reset["func"], reset["arguments"]) == (
        "drills.actions.service",
        "reset_circuit_breaker",
        {"name": "postgres"},
    )
    assert experiment["method"][0]["provider"]["func"] == "break_database_connections"
    _, outage = draft("1")
    by_name = {a["name"]: a for a in outage["method"]}
    assert by_name["L131-neo4j"]["provider"]["arguments"] == {"component": "neo4j"}
    assert by_name["TODO-L139-verify-ingress-controller"]["provider"]["arguments"]["line"] == 139
    assert by_name["L134-redis"]["provider"]["arguments"] == {"component": "redis"}


def test_unknown_scenario_is_one_line_exit_2() -> None:
    from drills.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["runbook", "scaffold", str(RUNBOOK), "--scenario", "Scenario 9"])
    assert exc.value.code == 2


@pytest.mark.integration
@pytest.mark.slow
def test_the_scenario_1_draft_runs_on_the_sandbox(tmp_path: Path) -> None:
    text, _ = draft("Scenario 1")
    path = tmp_path / "draft-scenario-1.yaml"
    path.write_text(text)
    out = tmp_path / "run"
    from drills.cli.main import main

    with running_sandbox("drills-test-scaffold-") as target, pytest.raises(SystemExit) as exc:
        spec = f"sandbox:{target.sandbox.layout.root}"
        main(["run", str(path), "--target", spec, "--out", str(out)])
    assert exc.value.code in (0, 1)  # met or missed: it ran and was measured
    journal = json.loads((out / "journal.json").read_text())
    ran = {r["activity"]["name"]: r["status"] for r in journal["run"]}
    assert ran["crash-control-plane-and-databases"] == "succeeded"
    assert ran["L131-neo4j"] == "succeeded"  # rollout restart statefulset/neo4j, for real
    assert ran["TODO-L139-verify-ingress-controller"] == "succeeded"  # placeholders do nothing
    assert ran["L134-redis"] == "succeeded"
    report = json.loads((out / "report.json").read_text())
    assert report["measurements"]["rto_seconds"] is not None


UNMAPPED = """\
# Ops

### Scenario 5: Alerting is silent

#### Detection

- No page during an outage

#### Verification

```bash
# Validate monitoring and alerting
./scripts/dr/test-monitoring-alerts.sh
helm rollback maestro 3
```
"""


def test_steps_a_draft_cannot_fill_in_become_placeholders(tmp_path: Path) -> None:
    """A step whose action needs more than the step says (which alert to await), and a command
    no parser knows, are kept as TODO placeholders: the draft still validates."""
    from drills.runbook import read_runbook_text
    from drills.runbook.scaffold import scaffold

    experiment = scaffold(read_runbook_text(UNMAPPED), "5", tmp_path)
    ensure_experiment_is_valid(experiment)
    names = [a["name"] for a in experiment["method"]]
    assert names == [
        "TODO-inject-the-fault",
        "TODO-L13-validate-monitoring-and-alerting",
        "TODO-L14-helm-rollback-maestro-3",
    ]


def test_a_draft_keeps_every_command_of_the_scenario_in_order(tmp_path: Path) -> None:
    from drills.runbook import read_runbook_text
    from drills.runbook.scaffold import scaffold
    from tests.runbook.test_reader import IRREGULAR

    experiment = scaffold(read_runbook_text(IRREGULAR), "Scenario 1", tmp_path)
    ensure_experiment_is_valid(experiment)
    method = experiment["method"][1:]  # after the TODO fault
    assert [a["name"].removeprefix("TODO-").split("-")[0] for a in method] == ["L8", "L14", "L20"]
    assert method[1]["provider"]["func"] == "restart_component"  # under "Diagnosis"
    assert [a["tags"][-1] for a in method] == ["other", "other", "recovery"]
