"""The monitoring-alerts drill end to end on a real Prometheus and Alertmanager (time compressed
twentyfold: `alert_time_scale` 0.05), and proof that it can miss."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from drills.actions.monitoring import finish_alert_drill, prepare_alert_drill
from drills.chaosrun import ChaosOptions
from drills.errors import ExitCode
from drills.monitoring.capabilities import MonitoredTarget
from drills.monitoring.conditions import Condition
from drills.monitoring.proof import AlertReader
from drills.monitoring.rules import SHIPPED_RULES
from drills.targets import registry
from drills.targets.sandbox.driver import SandboxTarget
from tests.monitoring.support import needs_monitoring
from tests.scenarios.conftest import DrillFn, run_drill

__all__ = ["run_drill"]  # the fixture, used by name

pytestmark = [pytest.mark.integration, pytest.mark.slow, needs_monitoring]

QUICK = ChaosOptions(variables=("alert_time_scale=0.05",))
ONE_CONDITION = Path(__file__).with_name("experiments") / "one-condition.yaml"


def test_every_runbook_alert_fires_within_its_bound_and_resolves(run_drill: DrillFn) -> None:
    outcome, report = run_drill("monitoring-alerts", chaos=QUICK)
    assert outcome.run_dir is not None
    journal = json.loads((outcome.run_dir / "journal.json").read_text())
    failed = {
        a["activity"]["name"]: a.get("exception", [""])[-1]
        for a in journal["run"]
        if a["status"] != "succeeded"
    }
    assert failed == {}
    assert report["verdict"] == "met", report["verdict_reason"]
    assert outcome.exit_code == ExitCode.MET
    m = report["measurements"]
    assert m["alert_time_scale"] == 0.05
    assert m["alert_conditions_met"] == len(Condition)
    for condition in Condition:
        key = condition.value.replace("-", "_")
        assert 0 < m[f"alert_{key}_firing_seconds"] <= m[f"alert_{key}_notified_seconds"]
        assert m[f"alert_{key}_notified_seconds"] <= m[f"alert_{key}_bound_seconds"]
        assert m[f"alert_{key}_resolved_seconds"] is not None
    # each alert's wait shows on the report's timeline as an activity of its own
    html = (outcome.run_dir / "report.html").read_text()
    for condition in Condition:
        assert f"await-{condition.value}-alert" in html


def test_a_broken_rule_makes_the_drill_missed_naming_its_alert(
    run_drill: DrillFn, tmp_path: Path
) -> None:
    rules = yaml.safe_load(SHIPPED_RULES.read_text())
    for rule in rules["groups"][0]["rules"]:  # a typo in the metric's name: valid, never true
        rule["expr"] = rule["expr"].replace(
            "maestro_db_connection_failures_total", "maestro_db_connection_failure_total"
        )
    broken = tmp_path / "broken-rules.yml"
    broken.write_text(yaml.safe_dump(rules))
    options = ChaosOptions(
        variables=(
            "alert_time_scale=0.05",
            f"alert_rules_file={broken}",
            "alert_condition=database-connection-failures",
        )
    )
    outcome, report = run_drill(str(ONE_CONDITION), chaos=options)
    assert report["verdict"] == "missed", report["verdict_reason"]
    assert outcome.exit_code == ExitCode.MISSED
    assert outcome.run_dir is not None
    journal = json.loads((outcome.run_dir / "journal.json").read_text())
    failed = {
        a["activity"]["name"]: a.get("exception", [""])[-1]
        for a in journal["run"]
        if a["status"] != "succeeded"
    }
    assert "await-alert" in failed
    assert "MaestroDatabaseConnectionFailures never fired" in failed["await-alert"]
    assert "MaestroDatabaseConnectionFailures never fired" in failed["finish-alert-drill"]


def test_steady_state_raises_no_alert(sandbox_target: SandboxTarget) -> None:
    key = f"sandbox:{sandbox_target.sandbox.layout.root}"
    registry.register(key, sandbox_target)
    config = {registry.CONFIG_KEY: key}
    assert isinstance(sandbox_target, MonitoredTarget)
    reader = AlertReader(sandbox_target.monitoring_endpoints())
    try:
        prepare_alert_drill(time_scale=0.05, configuration=config)  # fails on a false alarm
        deadline = time.monotonic() + 12.0  # longer than every compressed `for`
        seen: set[str] = set()
        while time.monotonic() < deadline:
            seen |= set(reader.active())
            time.sleep(0.2)
        assert seen == set()
        summary = finish_alert_drill(conditions=[], configuration=config)
        assert summary["traffic"]["answered_ok"] > 50
    finally:
        reader.close()
        registry.unregister(key)
