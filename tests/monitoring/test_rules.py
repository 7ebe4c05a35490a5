"""The shipped alert rules: promtool accepts them, their unit tests pass, every runbook condition
has one, and compressing time changes exactly the durations."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from drills.errors import InputError
from drills.monitoring.conditions import Condition
from drills.monitoring.rules import (
    SHIPPED_RULES,
    EmitFormat,
    check_with_promtool,
    emit,
    load_rules,
    parse_duration,
    promtool,
)
from drills.monitoring.timing import REAL, Timing
from tests.cli.invoke import Done, invoke
from tests.monitoring.support import needs_promtool

UNIT_TESTS = Path(__file__).with_name("rules_test.yml")


@needs_promtool
def test_promtool_accepts_the_shipped_rules_at_every_pace() -> None:
    ruleset = load_rules()
    check_with_promtool(ruleset.document, "shipped rules")
    check_with_promtool(ruleset.scaled(Timing.at_scale(0.05)), "quick rules")


@needs_promtool
def test_the_rules_unit_tests_pass_under_promtool() -> None:
    tool = promtool()
    assert tool is not None
    done = subprocess.run(
        [tool, "test", "rules", str(UNIT_TESTS)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@needs_promtool
def test_promtool_rejects_a_broken_expression(tmp_path: Path) -> None:
    doc = load_rules().document
    doc["groups"][0]["rules"][0]["expr"] = "sum(up{job="
    with pytest.raises(InputError, match="does not pass promtool check rules"):
        check_with_promtool(doc, "broken rules")


def test_every_runbook_condition_has_its_rule_with_the_runbooks_duration() -> None:
    ruleset = load_rules()
    assert set(ruleset.rules) == set(Condition)
    assert ruleset.rule_for(Condition.SERVICE_UNAVAILABLE).for_seconds == 60
    assert ruleset.rule_for(Condition.ERROR_RATE).for_seconds == 120
    assert ruleset.rule_for(Condition.RESPONSE_TIME).for_seconds == 180


def test_a_condition_without_a_rule_is_named(tmp_path: Path) -> None:
    doc = load_rules().document
    doc["groups"][0]["rules"] = [
        r for r in doc["groups"][0]["rules"] if r["alert"] != "MaestroSlowResponses"
    ]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(InputError, match="no rule for the runbook condition 'response-time'"):
        load_rules(path).rule_for(Condition.RESPONSE_TIME)


def test_a_rules_file_that_does_not_parse_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text("groups: [\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_rules(path)
    path.write_text("groups: 3\n")
    with pytest.raises(InputError, match="non-empty list under 'groups'"):
        load_rules(path)


def test_scaling_compresses_for_windows_and_interval_and_nothing_else() -> None:
    ruleset = load_rules()
    quick = ruleset.scaled(Timing.at_scale(0.05))
    rules = {r["alert"]: r for r in quick["groups"][0]["rules"]}
    assert quick["groups"][0]["interval"] == "1s"
    assert rules["MaestroServiceUnavailable"]["for"] == "3s"
    assert rules["MaestroHighErrorRate"]["for"] == "6s"
    assert rules["MaestroSlowResponses"]["for"] == "9s"
    # a one-minute window would be 3 s: never under four 1 s scrapes
    assert "[4s]" in rules["MaestroHighErrorRate"]["expr"]
    assert "[1m]" not in str(quick)
    assert (
        rules["MaestroHighErrorRate"]["labels"]
        == ruleset.document["groups"][0]["rules"][1]["labels"]
    )
    same = ruleset.scaled(REAL)
    assert same["groups"][0]["rules"][1]["expr"].count("[1m]") == 2


@pytest.mark.parametrize(
    ("text", "seconds"), [("1m", 60), ("1m30s", 90), ("250ms", 0.25), ("2h", 7200)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("scale", [0, -1, 1.5, float("nan"), True])
def test_a_bad_time_scale_is_input_error(scale: float) -> None:
    with pytest.raises(InputError, match="time scale"):
        Timing.at_scale(scale)


def test_bounds_add_the_pipeline_to_for() -> None:
    quick = Timing.at_scale(0.05)
    assert quick.firing_bound_seconds(3.0) == 3.0 + 2 * 1.0 + 2 * 1.0
    assert quick.notification_bound_seconds(3.0) == 7.0 + 1.5
    assert REAL.notification_bound_seconds(60.0) == 60 + 30 + 30 + 30
    # a rate over a window needs one scrape more before the fault outweighs older samples
    assert quick.firing_bound_seconds(6.0, windowed=True) == 6.0 + 3 * 1.0 + 2 * 1.0
    rules = load_rules()
    assert rules.rule_for(Condition.ERROR_RATE).windowed
    assert not rules.rule_for(Condition.SERVICE_UNAVAILABLE).windowed


def test_emit_prometheus_rule_wraps_the_same_groups() -> None:
    ruleset = load_rules()
    resource = yaml.safe_load(emit(ruleset, EmitFormat.PROMETHEUS_RULE))
    assert resource["kind"] == "PrometheusRule"
    assert resource["apiVersion"] == "monitoring.coreos.com/v1"
    assert resource["spec"]["groups"] == ruleset.document["groups"]
    assert emit(ruleset, EmitFormat.PROMETHEUS) == SHIPPED_RULES.read_text()


def test_cli_emits_and_refuses_bad_input_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def drills(*args: str) -> Done:
        return invoke(capsys, monkeypatch, tmp_path / "home", *args)

    done = drills("alerts", "--emit", "prometheus")
    assert done.code == 0, done.stderr
    assert yaml.safe_load(done.stdout) == load_rules().document
    done = drills("alerts", "--emit", "prometheus-rule")
    assert done.code == 0
    assert yaml.safe_load(done.stdout)["kind"] == "PrometheusRule"
    bad = tmp_path / "bad.yml"
    bad.write_text("groups: [\n")
    done = drills("alerts", "--rules", str(bad))
    assert done.code == 2
    assert "not valid YAML" in done.line()
    doc = load_rules().document
    doc["groups"][0]["rules"].pop(0)
    bad.write_text(yaml.safe_dump(doc))
    done = drills("alerts", "--rules", str(bad))
    assert done.code == 2
    assert "'service-unavailable'" in done.line()
    done = drills("alerts", "--prometheus", "http://127.0.0.1:9")
    assert done.code == 2
    assert "Prometheus at http://127.0.0.1:9 does not answer" in done.line()
