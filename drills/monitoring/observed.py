"""What the target's own monitoring saw during a drill: which alerts went pending, fired and
resolved, and when - read from Prometheus after the run, so any drill gets an alerts section.

The harness measures the outage itself (its TTD); this says whether, and how fast, the team's
alerting would have paged for it: monitoring's TTD beside the harness's. Prometheus keeps every
alert's state as the `ALERTS` series (a sample at each rule evaluation, a stale marker when the
alert resolves), so one range query over the drill's window gives each alert's transitions to
within one query step and one evaluation interval. Nothing is asked of Prometheus while the drill
runs, and a target without monitoring has no section at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from drills.errors import DrillError
from drills.monitoring.api import PrometheusAPI
from drills.monitoring.capabilities import MonitoredTarget

__all__ = ["AlertSpan", "ObservedAlerts", "observe_alerts", "spans_from_range"]

MAX_POINTS = 10_000  # Prometheus refuses a range query of over 11 000 points per series
MIN_STEP_SECONDS = 1.0


@dataclass(frozen=True)
class AlertSpan:
    """One alert's life within the window: pending (if seen), firing (if it fired), resolved
    (None while still active at the window's end). `active_at_start`: already active when the
    window opened, so its pending time is not known."""

    name: str
    pending_at: datetime | None
    firing_at: datetime | None
    resolved_at: datetime | None
    active_at_start: bool = False

    @property
    def began_at(self) -> datetime:
        began = self.pending_at or self.firing_at
        assert began is not None  # a span is only made from a sample
        return began


def spans_from_range(
    series: Iterable[Mapping[str, Any]], step_seconds: float, window_start: datetime
) -> list[AlertSpan]:
    """Spans from a range query of `ALERTS`: samples of one alert (any labels) less than two
    steps apart belong to one span; the first sample after a gap begins a new one. A span's
    resolution is one step after its last sample (the stale marker lies between them)."""
    points: dict[str, dict[float, str]] = {}
    for one in series:
        metric = one.get("metric") or {}
        name = str(metric.get("alertname", ""))
        state = str(metric.get("alertstate", ""))
        if not name or state not in ("pending", "firing"):
            continue
        for stamp, _value in one.get("values") or []:
            at = float(stamp)
            if state == "firing" or points.setdefault(name, {}).get(at) != "firing":
                points.setdefault(name, {})[at] = state
    start = window_start.timestamp()
    spans: list[AlertSpan] = []
    for name, states in points.items():
        current: list[tuple[float, str]] = []
        for at in sorted(states):
            if current and at - current[-1][0] > 1.5 * step_seconds:
                spans.append(_span(name, current, step_seconds, start, ended=True))
                current = []
            current.append((at, states[at]))
        if current:
            spans.append(_span(name, current, step_seconds, start, ended=False))
    return sorted(spans, key=lambda s: (s.began_at, s.name))


def _span(
    name: str, samples: Sequence[tuple[float, str]], step: float, start: float, *, ended: bool
) -> AlertSpan:
    pending = next((at for at, state in samples if state == "pending"), None)
    firing = next((at for at, state in samples if state == "firing"), None)
    first = samples[0][0]
    at_start = first - start < step / 2
    if firing is not None and pending is not None and pending > firing:
        pending = None  # pending again after firing is a new evaluation, not how it began
    return AlertSpan(
        name=name,
        pending_at=_utc(pending) if pending is not None else None,
        firing_at=_utc(firing) if firing is not None else None,
        resolved_at=_utc(samples[-1][0] + step) if ended else None,
        active_at_start=at_start,
    )


def _utc(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


@dataclass(frozen=True)
class ObservedAlerts:
    """The alerts of one drill window, or why they could not be read (`problem`)."""

    prometheus_url: str
    spans: tuple[AlertSpan, ...] = ()
    for_seconds: Mapping[str, float] | None = None  # each rule's `for`, when Prometheus said
    evaluation_seconds: float | None = None
    problem: str | None = None

    def measurements(self, fault_at: datetime | None) -> dict[str, float | int | str | None]:
        """Each alert's first span as `alert_<name>_{pending,firing,resolved}_at`, those it
        reached (the report's alert lanes), how many fired, and monitoring's time to detect: from
        the fault to the first alert firing after it."""
        if self.problem is not None:
            return {}
        found: dict[str, float | int | str | None] = {}
        seen: set[str] = set()
        for span in self.spans:
            if span.name in seen:
                continue
            seen.add(span.name)
            for state, instant in (
                ("pending", span.pending_at),
                ("firing", span.firing_at),
                ("resolved", span.resolved_at),
            ):
                if instant is not None:  # the note says what never happened
                    found[f"alert_{span.name}_{state}_at"] = instant.isoformat()
        found["alerts_fired"] = len({s.name for s in self.spans if s.firing_at is not None})
        first = self.first_firing_after(fault_at)
        if fault_at is not None and first is not None:
            found["monitoring_ttd_seconds"] = round((first - fault_at).total_seconds(), 3)
        return found

    def first_firing_after(self, fault_at: datetime | None) -> datetime | None:
        if fault_at is None:
            return None
        fired = [s.firing_at for s in self.spans if s.firing_at and s.firing_at >= fault_at]
        return min(fired, default=None)

    def summary(self, fault_at: datetime | None) -> str:
        """One line for the report's notes: what monitoring saw, relative to the fault."""
        if self.problem is not None:
            return f"monitoring: alerts not read ({self.problem})"
        if not self.spans:
            pace = (
                f", rules evaluated every {_duration(self.evaluation_seconds)}"
                if self.evaluation_seconds
                else ""
            )
            return (
                "monitoring: no alert went pending or fired "
                f"(Prometheus at {self.prometheus_url}{pace})"
            )
        parts = [self._describe(span, fault_at) for span in self.spans]
        return "monitoring: " + "; ".join(parts)

    def _describe(self, span: AlertSpan, fault_at: datetime | None) -> str:
        def when(instant: datetime | None) -> str:
            if instant is None:
                return "?"
            if fault_at is None:
                return instant.strftime("%H:%M:%S")
            return f"{(instant - fault_at).total_seconds():+.1f} s"

        words = [span.name]
        if span.active_at_start:
            words.append("already active before the drill")
        elif span.pending_at is not None:
            words.append(f"pending {when(span.pending_at)}")
        if span.firing_at is not None:
            words.append(f"fired {when(span.firing_at)}")
        else:
            wait = (self.for_seconds or {}).get(span.name)
            words.append(
                "never fired" + (f" (its for: is {_duration(wait)})" if wait is not None else "")
            )
        if span.resolved_at is not None:
            words.append(f"resolved {when(span.resolved_at)}")
        elif span.firing_at is not None:
            words.append("still firing at the end")
        return " ".join(words)


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def observe_alerts(target: object, since: datetime, until: datetime) -> ObservedAlerts | None:
    """The alerts of [since, until] from the target's Prometheus; None when the target has no
    monitoring (not a monitored kind, no binaries, no `monitoring:` in its profile)."""
    if not isinstance(target, MonitoredTarget):
        return None
    try:
        endpoints = target.monitoring_endpoints()
    except DrillError:
        return None
    api = PrometheusAPI(endpoints.prometheus_url)
    try:
        duration = max((until - since).total_seconds(), 0.0)
        step = max(MIN_STEP_SECONDS, math.ceil(duration / MAX_POINTS))
        series = api.query_range("ALERTS", since, until, step)
        waits, evaluation = _rule_timings(api)
    except DrillError as exc:
        return ObservedAlerts(endpoints.prometheus_url, problem=str(exc))
    finally:
        api.close()
    return ObservedAlerts(
        endpoints.prometheus_url,
        spans=tuple(spans_from_range(series, step, since)),
        for_seconds=waits,
        evaluation_seconds=evaluation,
    )


def _rule_timings(api: PrometheusAPI) -> tuple[dict[str, float], float | None]:
    waits: dict[str, float] = {}
    intervals: list[float] = []
    for group in api.rule_groups():
        if isinstance(group.get("interval"), int | float):
            intervals.append(float(group["interval"]))
        for rule in group.get("rules") or []:
            if rule.get("type") == "alerting" and isinstance(rule.get("duration"), int | float):
                waits[str(rule.get("name"))] = float(rule["duration"])
    return waits, (max(intervals) if intervals else None)
