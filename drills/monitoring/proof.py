"""Proving one runbook alert condition: inject its fault, time the alert, recover, time the resolve.

For a condition: wait until nothing fires; inject the fault that should set its alert off; poll
Prometheus (pending/firing) and the notifications (the sandbox's webhook log, or Alertmanager's
API elsewhere) until the alert has fired and been notified, or its bound has passed; undo the fault
and wait for the alert to resolve. Any other alert that fires meanwhile and is not a known
consequence of this fault (`CONSEQUENCES`) is a false alarm. The condition is met when the alert
fired and was notified within its bounds, resolved after recovery, and nothing else fired.

Times come from the monotonic clock; they are known to one polling interval (`POLL_SECONDS`). The
clock starts when the fault is in force (its injection returned) - for a delay, when the first
delayed answer can have been given, since a response is only known to be slow when it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from drills.errors import TargetError
from drills.monitoring.api import AlertmanagerAPI, PrometheusAPI
from drills.monitoring.capabilities import HttpFaultTarget, MonitoringEndpoints
from drills.monitoring.conditions import CONSEQUENCES, Condition
from drills.monitoring.receiver import notifications
from drills.monitoring.rules import RuleSet
from drills.monitoring.timing import Timing
from drills.targets.base import Component, NetworkFault, Target

__all__ = ["AlertReader", "ConditionProof", "ConditionTest", "Fault", "fault_for", "prove", "quiet"]

POLL_SECONDS = 0.2
LATE_FACTOR = 1.5  # after its bound, keep watching this much longer to report how late it was
ABORT_SHARE = 0.5  # the error-rate fault: half the requests answered 500 (the rule says > 5 %)
DELAY_SECONDS = 1.2  # the latency fault (the rule says p95 > 1 s)
QUIET_TIMEOUT_FACTOR = 3.0


@dataclass(frozen=True)
class Fault:
    """How to cause, and undo, the situation a condition describes."""

    description: str
    inject: Callable[[], None]
    recover: Callable[[], None]
    knowable_after_seconds: float = 0.0  # how long after it is in force it can be seen at all


def _http_faults(target: Target) -> HttpFaultTarget:
    if not isinstance(target, HttpFaultTarget):
        raise TargetError(f"{target.name} cannot inject HTTP faults (error rate, latency)")
    return target


def fault_for(condition: Condition, target: Target) -> Fault:
    """The runbook situation behind `condition`, on `target`."""
    if condition is Condition.SERVICE_UNAVAILABLE:
        return Fault(
            "kill -9 every control-plane replica",
            lambda: _discard(target.kill(Component.CONTROL_PLANE)),
            lambda: target.restart(Component.CONTROL_PLANE),
        )
    if condition is Condition.ERROR_RATE:
        http = _http_faults(target)
        return Fault(
            f"answer {ABORT_SHARE:.0%} of requests with 500",
            lambda: http.set_http_faults(ABORT_SHARE, 0.0),
            lambda: http.set_http_faults(0.0, 0.0),
        )
    if condition is Condition.RESPONSE_TIME:
        http = _http_faults(target)
        return Fault(
            f"delay every request by {DELAY_SECONDS:g} s",
            lambda: http.set_http_faults(0.0, DELAY_SECONDS),
            lambda: http.set_http_faults(0.0, 0.0),
            knowable_after_seconds=DELAY_SECONDS,
        )
    database = (
        Component.POSTGRES
        if condition is Condition.DATABASE_CONNECTION_FAILURES
        else Component.REDIS
    )
    return Fault(
        f"reset every connection from the control plane to {database.value}",
        lambda: target.set_network_fault(database, NetworkFault.RESET, 0),
        lambda: target.set_network_fault(database, NetworkFault.NONE, 0),
    )


def _discard(_: object) -> None:
    return None


@dataclass
class ConditionProof:
    """What one condition's test measured (seconds from the fault, or from the recovery)."""

    condition: Condition
    alert: str
    fault: str
    for_seconds: float
    firing_bound_seconds: float
    notification_bound_seconds: float
    resolve_bound_seconds: float
    fault_at: str = ""
    pending_after_seconds: float | None = None
    firing_after_seconds: float | None = None
    notified_after_seconds: float | None = None
    recovered_at: str = ""
    resolved_after_seconds: float | None = None
    pending_at: str | None = None  # UTC, as seen by polling (for the report's alert lanes)
    firing_at: str | None = None
    resolved_at: str | None = None
    resolve_notified_after_seconds: float | None = None
    false_alarms: list[str] = field(default_factory=list)
    consequences: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Why this condition is missed (empty when met)."""
        found: list[str] = []
        if self.firing_after_seconds is None:
            found.append(f"{self.alert} never fired")
        elif self.firing_after_seconds > self.firing_bound_seconds:
            found.append(
                f"{self.alert} fired after {self.firing_after_seconds:.1f} s "
                f"(bound {self.firing_bound_seconds:.1f} s)"
            )
        if self.firing_after_seconds is not None:
            if self.notified_after_seconds is None:
                found.append(f"{self.alert} was never notified")
            elif self.notified_after_seconds > self.notification_bound_seconds:
                found.append(
                    f"{self.alert} notified after {self.notified_after_seconds:.1f} s "
                    f"(bound {self.notification_bound_seconds:.1f} s)"
                )
            if self.recovered_at and self.resolved_after_seconds is None:
                found.append(
                    f"{self.alert} did not resolve within {self.resolve_bound_seconds:.1f} s "
                    "of recovery"
                )
        found.extend(f"false alarm: {name}" for name in self.false_alarms)
        return found

    @property
    def met(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        def r(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        return {
            "condition": self.condition.value,
            "alert": self.alert,
            "fault": self.fault,
            "fault_at": self.fault_at,
            "for_seconds": r(self.for_seconds),
            "pending_after_seconds": r(self.pending_after_seconds),
            "firing_after_seconds": r(self.firing_after_seconds),
            "firing_bound_seconds": r(self.firing_bound_seconds),
            "notified_after_seconds": r(self.notified_after_seconds),
            "notification_bound_seconds": r(self.notification_bound_seconds),
            "recovered_at": self.recovered_at,
            "resolved_after_seconds": r(self.resolved_after_seconds),
            "resolve_notified_after_seconds": r(self.resolve_notified_after_seconds),
            "resolve_bound_seconds": r(self.resolve_bound_seconds),
            "consequences": sorted(self.consequences),
            "false_alarms": sorted(self.false_alarms),
            "pending_at": self.pending_at,
            "firing_at": self.firing_at,
            "resolved_at": self.resolved_at,
            "met": self.met,
            "problems": self.problems,
        }


class AlertReader:
    """Reads what fires (Prometheus) and what was notified (webhook log or Alertmanager)."""

    def __init__(self, endpoints: MonitoringEndpoints) -> None:
        self.endpoints = endpoints
        self.prometheus = PrometheusAPI(endpoints.prometheus_url)
        self.alertmanager = AlertmanagerAPI(endpoints.alertmanager_url)

    def close(self) -> None:
        self.prometheus.close()
        self.alertmanager.close()

    def active(self) -> dict[str, str]:
        """Alert name -> "firing" or "pending" (firing wins when several series disagree)."""
        states: dict[str, str] = {}
        for alert in self.prometheus.alerts():
            if states.get(alert.name) != "firing":
                states[alert.name] = alert.state
        return states

    def notified(self, since_monotonic: float) -> dict[tuple[str, str], float]:
        """(alert, "firing"|"resolved") -> first monotonic time it reached the receiver."""
        seen: dict[tuple[str, str], float] = {}
        if self.endpoints.notifications_path is not None:
            for n in notifications(self.endpoints.notifications_path, since_monotonic):
                seen.setdefault((n.alert, n.status), n.received_monotonic)
            return seen
        now = time.monotonic()  # no webhook here: Alertmanager holding it is the notification
        for alert in self.alertmanager.alerts():
            name = str((alert.get("labels") or {}).get("alertname", ""))
            seen.setdefault((name, "firing"), now)
        return seen


def quiet(reader: AlertReader, timeout_seconds: float) -> list[str]:
    """Wait until no alert is pending or firing; the names still active at the timeout."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        active = sorted(reader.active())
        if not active or time.monotonic() >= deadline:
            return active
        time.sleep(POLL_SECONDS)


class ConditionTest:
    """One condition's test in four steps a drill runs as separate activities (so each shows on
    the report's timeline): `inject`, `await_alert`, `recover`, `await_resolved`."""

    def __init__(
        self,
        condition: Condition,
        target: Target,
        reader: AlertReader,
        ruleset: RuleSet,
        timing: Timing,
    ) -> None:
        rule = ruleset.rule_for(condition)
        self.fault = fault_for(condition, target)
        self.reader = reader
        for_seconds = timing.scaled(rule.for_seconds)
        self.proof = ConditionProof(
            condition=condition,
            alert=rule.name,
            fault=self.fault.description,
            for_seconds=for_seconds,
            firing_bound_seconds=timing.firing_bound_seconds(for_seconds, rule.windowed),
            notification_bound_seconds=timing.notification_bound_seconds(
                for_seconds, rule.windowed
            ),
            resolve_bound_seconds=_resolve_bound(timing),
        )
        self.allowed = {rule.name} | {
            r.name for c in CONSEQUENCES[condition] if (r := ruleset.rules.get(c)) is not None
        }
        self.names = {r.name for r in ruleset.rules.values()}
        self.started: float | None = None
        self.recovered: float | None = None

    def inject(self) -> None:
        """Wait until nothing fires (an earlier fault's alerts resolve), then cause the fault."""
        still = quiet(self.reader, QUIET_TIMEOUT_FACTOR * self.proof.resolve_bound_seconds)
        if still:
            raise TargetError(
                f"{self.proof.condition.value}: alerts still fire before its fault: "
                + ", ".join(still)
            )
        self.proof.fault_at = datetime.now(UTC).isoformat()
        self.fault.inject()
        self.started = time.monotonic() + self.fault.knowable_after_seconds

    def await_alert(self) -> None:
        if self.started is None:
            raise TargetError(f"{self.proof.condition.value}: the fault was not injected")
        _watch_firing(self.proof, self.reader, self.started, self.allowed, self.names)

    def recover(self) -> None:
        self.fault.recover()
        self.recovered = time.monotonic()
        self.proof.recovered_at = datetime.now(UTC).isoformat()

    def await_resolved(self) -> None:
        if self.started is None or self.recovered is None:
            raise TargetError(f"{self.proof.condition.value}: the fault was not recovered")
        _watch_resolving(
            self.proof, self.reader, self.started, self.recovered, self.allowed, self.names
        )


def prove(
    condition: Condition,
    target: Target,
    reader: AlertReader,
    ruleset: RuleSet,
    timing: Timing,
) -> ConditionProof:
    """Run one condition's whole test (fault, watch, recover, watch); what it measured."""
    test = ConditionTest(condition, target, reader, ruleset, timing)
    test.inject()
    try:
        test.await_alert()
    finally:
        test.recover()
    test.await_resolved()
    return test.proof


RESOLVE_ALLOWANCE = 2.0  # the runbook promises nothing about resolution: twice the pipeline


def _resolve_bound(timing: Timing) -> float:
    # a rate window still holds the fault's samples, then a scrape, an evaluation, a group interval
    return RESOLVE_ALLOWANCE * (
        timing.range_window(60.0)
        + 2 * timing.scrape_interval_seconds
        + 2 * timing.evaluation_interval_seconds
        + timing.group_interval_seconds
    )


def _utc(seconds_ago: float = 0.0) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat()


def _note_others(
    proof: ConditionProof, active: dict[str, str], allowed: set[str], names: set[str]
) -> None:
    for name, state in active.items():
        if state != "firing" or name == proof.alert:
            continue
        bucket = proof.consequences if name in allowed and name in names else proof.false_alarms
        if name not in bucket:
            bucket.append(name)


def _watch_firing(
    proof: ConditionProof,
    reader: AlertReader,
    started: float,
    allowed: set[str],
    names: set[str],
) -> None:
    deadline = started + LATE_FACTOR * proof.notification_bound_seconds
    while time.monotonic() < deadline:
        now = time.monotonic()
        active = reader.active()
        state = active.get(proof.alert)
        if state is not None and proof.pending_after_seconds is None:
            proof.pending_after_seconds = now - started
            proof.pending_at = _utc()
        if state == "firing" and proof.firing_after_seconds is None:
            proof.firing_after_seconds = now - started
            proof.firing_at = _utc()
        _note_others(proof, active, allowed, names)
        notified = reader.notified(started).get((proof.alert, "firing"))
        if notified is not None:
            proof.notified_after_seconds = notified - started
            firing = proof.firing_after_seconds
            if firing is None or proof.notified_after_seconds < firing:
                # it fired no later than its notification: between two polls, or seen firing
                # by a poll that came late (a busy machine)
                proof.firing_after_seconds = proof.notified_after_seconds
                proof.firing_at = _utc(time.monotonic() - notified)
                pending = proof.pending_after_seconds
                if pending is not None and pending > proof.firing_after_seconds:
                    proof.pending_after_seconds = proof.firing_after_seconds
                    proof.pending_at = proof.firing_at
            return
        time.sleep(POLL_SECONDS)


def _watch_resolving(
    proof: ConditionProof,
    reader: AlertReader,
    started: float,
    recovered: float,
    allowed: set[str],
    names: set[str],
) -> None:
    if proof.firing_after_seconds is None:
        return
    deadline = recovered + proof.resolve_bound_seconds
    while time.monotonic() < deadline:
        now = time.monotonic()
        active = reader.active()
        _note_others(proof, active, allowed, names)
        if proof.alert not in active and proof.resolved_after_seconds is None:
            proof.resolved_after_seconds = now - recovered
            proof.resolved_at = _utc()
        resolved = reader.notified(started).get((proof.alert, "resolved"))
        if resolved is not None:
            proof.resolve_notified_after_seconds = max(0.0, resolved - recovered)
        if proof.resolved_after_seconds is not None and (
            resolved is not None or reader.endpoints.notifications_path is None
        ):
            return
        time.sleep(POLL_SECONDS)
