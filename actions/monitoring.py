"""The monitoring-alerts drill's steps (runbook: test-monitoring-alerts).

`prepare_alert_drill` puts the target's Prometheus and Alertmanager on the drill's pace (the
runbook's durations, or compressed by `time_scale` for a quick sandbox drill - the report carries
the scale), checks that every runbook condition has a rule, and starts steady request traffic.
Then, one condition at a time: `inject_alert_fault`, `await_alert` (fails the activity when the
alert does not fire and get notified within its bound, or another alert fires falsely),
`recover_alert_fault`, `await_alert_resolved`. `finish_alert_drill` stops the traffic and fails
when any condition missed, naming each. Every step returns what it measured; the numbers also go
into the report's measurements.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ActivityFailed

from drills.activity_measurements import REPORT_KEY
from drills.controlplane.connection import Endpoint
from drills.errors import DrillError
from drills.monitoring.capabilities import HttpFaultTarget, MonitoredTarget
from drills.monitoring.conditions import Condition
from drills.monitoring.proof import AlertReader, ConditionTest, quiet
from drills.monitoring.rules import SCRAPE_JOB, RuleSet, load_rules
from drills.monitoring.timing import Timing
from drills.monitoring.traffic import Traffic
from drills.targets.base import Component, NetworkFault, Target
from drills.targets.registry import target_from

__all__ = [
    "abandon_alert_drill",
    "await_alert",
    "await_alert_resolved",
    "finish_alert_drill",
    "inject_alert_fault",
    "prepare_alert_drill",
    "recover_alert_fault",
]

Configuration = dict[str, Any]
Secrets = dict[str, Any]

QUIET_TIMEOUT_FACTOR = 2.0  # of the resolve bound: how long steady state may take to go quiet


@dataclass
class _Drill:
    target: Target
    reader: AlertReader
    ruleset: RuleSet
    timing: Timing
    traffic: Traffic
    tests: dict[Condition, ConditionTest] = field(default_factory=dict)


_drill: _Drill | None = None


def _monitored(target: Target) -> MonitoredTarget:
    if not isinstance(target, MonitoredTarget):
        raise ActivityFailed(f"{target.name} has no monitoring (Prometheus + Alertmanager)")
    return target


def _condition(name: str) -> Condition:
    try:
        return Condition(name)
    except ValueError:
        known = ", ".join(c.value for c in Condition)
        raise ActivityFailed(f"unknown alert condition {name!r} (known: {known})") from None


def _current() -> _Drill:
    if _drill is None:
        raise ActivityFailed("the alert drill was not prepared (prepare_alert_drill)")
    return _drill


def prepare_alert_drill(
    time_scale: float | str = 1.0,
    rules_file: str | None = None,
    traffic_per_second: float = 10.0,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Run the target's monitoring at the drill's pace with the runbook's rules (or `rules_file`),
    start steady traffic, and wait until no alert fires. `time_scale` 1 is the runbook's pace;
    0.05 compresses every duration twentyfold (a quick sandbox drill)."""
    global _drill
    abandon_alert_drill()
    target = target_from(configuration)
    try:
        timing = Timing.at_scale(float(time_scale))
        ruleset = load_rules(Path(rules_file) if rules_file else None)
        for condition in Condition:
            ruleset.rule_for(condition)
        monitored = _monitored(target)
        monitored.configure_monitoring(timing, ruleset)
        reader = AlertReader(monitored.monitoring_endpoints())
    except (DrillError, ValueError) as exc:
        raise ActivityFailed(str(exc)) from exc
    traffic = Traffic(Endpoint.of(target), traffic_per_second).start()
    _drill = _Drill(target, reader, ruleset, timing, traffic)
    replicas = target.replicas(Component.CONTROL_PLANE)
    try:
        _wait_for_scrapes(reader, replicas, 10 * timing.scrape_interval_seconds + 10.0)
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    # rates and percentiles need a window of samples with traffic before any fault, and a rule
    # that was pending before Prometheus had seen any replica must have been evaluated since
    warm_up = timing.range_window(60.0) + timing.scrape_interval_seconds
    time.sleep(warm_up + 2 * timing.evaluation_interval_seconds)
    still = quiet(reader, QUIET_TIMEOUT_FACTOR * max(warm_up, 10.0))
    if still:
        raise ActivityFailed(f"alerts fire before any fault (false alarms): {', '.join(still)}")
    return {
        "timing": timing.to_json(),
        "rules": str(ruleset.source),
        "alerts": {c.value: r.name for c, r in ruleset.rules.items()},
        REPORT_KEY: {"alert_time_scale": timing.time_scale},
    }


def _wait_for_scrapes(reader: AlertReader, replicas: int, timeout_seconds: float) -> None:
    """Until Prometheus has scraped every replica (a monitoring just started sees nothing yet)."""
    deadline = time.monotonic() + timeout_seconds
    while (seen := reader.prometheus.healthy_targets(SCRAPE_JOB)) < replicas:
        if time.monotonic() > deadline:
            raise ActivityFailed(
                f"Prometheus scrapes {seen} of {replicas} control-plane replicas "
                f"after {timeout_seconds:.0f} s (job {SCRAPE_JOB})"
            )
        time.sleep(0.2)


def inject_alert_fault(
    condition: str, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Cause the situation `condition` describes (see `drills.monitoring.proof.fault_for`)."""
    drill = _current()
    which = _condition(condition)
    try:
        test = ConditionTest(which, drill.target, drill.reader, drill.ruleset, drill.timing)
        drill.tests[which] = test
        test.inject()
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    return {"condition": which.value, "fault": test.proof.fault, "fault_at": test.proof.fault_at}


def await_alert(
    condition: str, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Wait for the condition's alert to fire and be notified; fails past its bound (naming the
    alert) or on a false alarm."""
    test = _test(condition)
    try:
        test.await_alert()
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    proof = test.proof
    problems = [p for p in proof.problems if "resolve" not in p]
    if problems:
        raise ActivityFailed(f"{proof.condition.value}: " + "; ".join(problems))
    return _reported(test)


def recover_alert_fault(
    condition: str, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Undo the condition's fault (restart, heal, clear) - ready when this returns."""
    test = _test(condition)
    try:
        test.recover()
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    return {"condition": test.proof.condition.value, "recovered_at": test.proof.recovered_at}


def await_alert_resolved(
    condition: str, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """Wait for the condition's alert to resolve after recovery; fails when it does not."""
    test = _test(condition)
    try:
        test.await_resolved()
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    if not test.proof.met:
        raise ActivityFailed(f"{test.proof.condition.value}: " + "; ".join(test.proof.problems))
    return _reported(test)


def finish_alert_drill(
    conditions: list[str] | None = None,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Stop the traffic; the per-condition results; fails naming every condition that missed
    (and every one of `conditions`, default all the runbook's, that was not tested)."""
    global _drill
    drill = _current()
    counts = drill.traffic.stop()
    # the last fault's consequences resolve too before the steady state is checked again
    resolve_bound = max((t.proof.resolve_bound_seconds for t in drill.tests.values()), default=0)
    still = quiet(drill.reader, QUIET_TIMEOUT_FACTOR * resolve_bound)
    drill.reader.close()
    _drill = None
    results = [t.proof.to_json() for t in drill.tests.values()]
    wanted = list(Condition) if conditions is None else [_condition(c) for c in conditions]
    untested = [c.value for c in wanted if c not in drill.tests]
    missed = [f"{r['condition']} ({'; '.join(r['problems'])})" for r in results if not r["met"]]
    missed += [f"{name} (not tested)" for name in untested]
    missed += [f"{name} (still firing after the drill)" for name in still]
    summary = {
        "conditions": results,
        "traffic": vars(counts),
        "time_scale": drill.timing.time_scale,
        REPORT_KEY: {
            "alert_conditions_met": sum(1 for r in results if r["met"]),
            "alert_conditions_missed": len(missed),
        },
    }
    if missed:
        raise ActivityFailed("alerts missed: " + "; ".join(missed))
    return summary


def abandon_alert_drill(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> list[str]:
    """Rollback: undo any fault still in force and stop the traffic (safe when nothing runs)."""
    global _drill
    drill, _drill = _drill, None
    if drill is None:
        return []
    undone: list[str] = []
    drill.traffic.stop()
    drill.reader.close()
    target = drill.target
    if isinstance(target, HttpFaultTarget):
        target.set_http_faults(0.0, 0.0)
        undone.append("http faults cleared")
    for component in (Component.POSTGRES, Component.REDIS):
        target.set_network_fault(component, NetworkFault.NONE, 0)
    undone.append("network paths healed")
    for test in drill.tests.values():
        if test.recovered is None:
            test.recover()
            undone.append(f"{test.proof.condition.value} recovered")
    return undone


def _test(condition: str) -> ConditionTest:
    drill = _current()
    which = _condition(condition)
    test = drill.tests.get(which)
    if test is None:
        raise ActivityFailed(f"{which.value}: its fault was not injected (inject_alert_fault)")
    return test


def _reported(test: ConditionTest) -> dict[str, Any]:
    proof = test.proof.to_json()
    key = test.proof.condition.value.replace("-", "_")
    proof[REPORT_KEY] = {
        f"alert_{key}_firing_seconds": proof["firing_after_seconds"],
        f"alert_{key}_notified_seconds": proof["notified_after_seconds"],
        f"alert_{key}_bound_seconds": proof["notification_bound_seconds"],
        f"alert_{key}_resolved_seconds": proof["resolved_after_seconds"],
        # UTC instants: the report's chart draws each alert's lane from them
        f"alert_{key}_pending_at": proof["pending_at"],
        f"alert_{key}_firing_at": proof["firing_at"],
        f"alert_{key}_resolved_at": proof["resolved_at"],
    }
    return proof
