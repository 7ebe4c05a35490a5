"""The runbook's two communication templates, filled from a drill as if it were the incident.

Rehearsing the communication is part of a drill: the "Incident Declaration" and "Resolution
Notification" of the runbook (section "Communication Templates") are filled from what the run
measured (start time = the fault, impact = what the samples and the canary saw, actions = the
method's activities, duration = RTO and downtime, resolution = the recovery activities). Every
text says loudly that it comes from a drill, so nobody mistakes it for a real incident.

Severity follows the runbook's escalation matrix (1 complete outage = CRITICAL, 2 major
degradation = HIGH, 3 minor issues = MEDIUM): a base from the scenario's name, then what was
observed decides: data lost or corrupted, or every critical signal down at once, is CRITICAL; a
missed objective raises the base one level; no detected failure is MEDIUM.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from drills.clock import iso
from drills.models import ActivityMark, DrillResult, Phase, Sample, Stage, Verdict
from drills.numbers import fmt_offset, fmt_rate, fmt_seconds, fmt_value
from drills.reports.timebase import Timebase

DRILL_BANNER = "[DRILL — NOT A REAL INCIDENT]"


class Severity(StrEnum):
    """The runbook's severities (escalation matrix levels 1-3)."""

    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"


_CRITICAL_WORDS = frozenset({"outage", "rebuild", "region", "corruption", "loss"})
_HIGH_WORDS = frozenset({"database", "db", "postgres", "redis", "failover", "traffic", "flood"})
_NEXT_UPDATE = {
    Severity.CRITICAL: timedelta(minutes=15),
    Severity.HIGH: timedelta(minutes=30),
    Severity.MEDIUM: timedelta(minutes=60),
}
_RAISED = {
    Severity.MEDIUM: Severity.HIGH,
    Severity.HIGH: Severity.CRITICAL,
    Severity.CRITICAL: Severity.CRITICAL,
}


@dataclass(frozen=True)
class IncidentTexts:
    """The filled templates, plain text, and the severity with why it was chosen."""

    severity: Severity
    severity_reason: str
    declaration: str
    resolution: str


def scenario_severity(scenario: str) -> Severity:
    """The severity a scenario implies by its name alone (before looking at the outcome)."""
    words = set(re.split(r"[^a-z0-9]+", scenario.lower()))
    if words & _CRITICAL_WORDS:
        return Severity.CRITICAL
    if words & _HIGH_WORDS:
        return Severity.HIGH
    return Severity.MEDIUM


def complete_outage(samples: Sequence[Sample], start: float, end: float) -> bool:
    """Whether every critical signal was failing at one moment within [start, end]."""
    critical = {s.signal for s in samples if s.critical}
    if not critical:
        return False
    latest: dict[str, bool] = {}
    for s in sorted((s for s in samples if s.critical), key=lambda s: s.t):
        latest[s.signal] = s.ok
        if start <= s.t <= end and len(latest) == len(critical) and not any(latest.values()):
            return True
    return False


def _window_end(result: DrillResult) -> float:
    m = result.measurements
    return m.recovered_at if m.recovered_at is not None else result.ended_at


def severity(result: DrillResult, samples: Sequence[Sample]) -> tuple[Severity, str]:
    """The incident's severity and a short reason."""
    m = result.measurements
    base = scenario_severity(result.drill.scenario)
    if m.fault_at is None or m.detected_at is None:
        return Severity.MEDIUM, "no failure was detected"
    if (m.writes_lost or 0) > 0 or (m.writes_corrupted or 0) > 0:
        return Severity.CRITICAL, "acknowledged data was lost or corrupted"
    if complete_outage(samples, m.fault_at, _window_end(result)):
        return Severity.CRITICAL, "complete outage: every critical signal failed at once"
    if any(o.met is False for o in result.objectives):
        return _RAISED[base], f"scenario {result.drill.scenario!r} and a missed objective"
    return base, f"scenario {result.drill.scenario!r}"


def _failing_signals(
    result: DrillResult, samples: Sequence[Sample], start: float
) -> tuple[list[str], list[str]]:
    """Names of the critical and of the informational signals that failed after `start`."""
    end = _window_end(result)
    failing = {s.signal: s.critical for s in samples if not s.ok and start <= s.t <= end}
    critical = sorted(name for name, is_critical in failing.items() if is_critical)
    informational = sorted(name for name, is_critical in failing.items() if not is_critical)
    return critical, informational


def impact(result: DrillResult, samples: Sequence[Sample]) -> str:
    """One paragraph: which signals failed, how much probe traffic failed, what data was lost."""
    m = result.measurements
    if m.fault_at is None:
        return "None: no fault was injected."
    if m.detected_at is None:
        return "No detectable impact: no critical signal failed after the fault."
    parts = []
    critical, informational = _failing_signals(result, samples, m.fault_at)
    if complete_outage(samples, m.fault_at, _window_end(result)):
        parts.append(f"Complete outage, every critical signal failed: {', '.join(critical)}.")
    elif critical:
        parts.append(f"Critical signals failing: {', '.join(critical)}.")
    if informational:
        parts.append(f"Informational signals failing: {', '.join(informational)}.")
    stats = m.phases.get(Phase.FAULT)
    if stats is not None and stats.requests:
        parts.append(
            f"{stats.errors} of {stats.requests} probe requests failed during the fault"
            f" ({fmt_rate(stats.error_rate)})."
        )
    if m.writes_lost is not None:
        corrupted = m.writes_corrupted if m.writes_corrupted is not None else "unknown"
        parts.append(
            f"{m.writes_lost} acknowledged writes lost (data loss window, RPO"
            f" {fmt_seconds(m.rpo_seconds)}),"
            f" {corrupted} corrupted."
        )
    else:
        parts.append("Data loss not measured.")
    return " ".join(parts)


def _method(result: DrillResult) -> list[ActivityMark]:
    method = [a for a in result.activities if a.stage is Stage.METHOD]
    return sorted(method, key=lambda a: a.start)


def recovery_activities(result: DrillResult) -> list[ActivityMark]:
    """The method's activities after its last fault activity: what the recovery did."""
    method = _method(result)
    faults = [i for i, a in enumerate(method) if a.is_fault]
    if not faults:
        return []
    return [a for a in method[faults[-1] + 1 :] if not a.is_fault]


def _bullets(activities: Sequence[ActivityMark], tb: Timebase) -> list[str]:
    if not activities:
        return ["- none"]
    lines = []
    for a in activities:
        details = [a.kind, *a.tags, a.status or "no status"]
        lines.append(f"- {fmt_offset(tb.offset(a.start))}  {a.name} ({', '.join(details)})")
    return lines


def _target_label(result: DrillResult) -> str:
    return f"Maestro Conductor drill on {result.target.name} ({result.target.kind})"


def declaration(result: DrillResult, samples: Sequence[Sample]) -> str:
    """The filled "Incident Declaration" template."""
    tb = Timebase.of(result)
    m = result.measurements
    level, reason = severity(result, samples)
    declared_at = m.detected_at if m.detected_at is not None else m.fault_at
    if declared_at is None:
        next_update = "n/a (nothing to update: no fault was injected)"
    else:
        next_update = iso(tb.clock.to_utc(declared_at) + _NEXT_UPDATE[level]) or ""
    start = tb.iso(m.fault_at) or f"not measured ({m.unmeasured.get('fault_at', 'no fault')})"
    lines = [
        f"{DRILL_BANNER} generated by drills from run {result.run_id}",
        "",
        f"🚨 [DRILL] INCIDENT DECLARED - {_target_label(result)}",
        "",
        f"Severity: {level.value} ({reason})",
        f"Start Time: {start}",
        "Status: Investigating",
        f"Impact: {impact(result, samples)}",
        "",
        "Actions Taken:",
        *_bullets(_method(result), tb),
        "",
        f"Next Update: {next_update}",
        f"Incident Commander: drills (automated drill, run {result.run_id})",
    ]
    return "\n".join(lines) + "\n"


def _follow_up(result: DrillResult) -> str:
    missed = [o for o in result.objectives if o.met is False]
    if not missed and result.verdict is not Verdict.MET:
        return f"rerun the drill: verdict {result.verdict.value} ({result.verdict_reason})"
    if not missed:
        return "none required: every objective was met"
    parts = [
        f"{o.name} (measured {fmt_value(o.measured, o.unit)},"
        f" threshold {o.comparison.value} {fmt_value(o.threshold, o.unit)})"
        for o in missed
    ]
    return "address missed objectives: " + "; ".join(parts)


def resolution(result: DrillResult) -> str:
    """The filled "Resolution Notification" template (or its not-resolved form)."""
    tb = Timebase.of(result)
    m = result.measurements
    faults = [a.name for a in _method(result) if a.is_fault]
    root_cause = (
        f"fault injected by the drill {result.drill.title!r}: {', '.join(faults)}"
        if faults
        else "none: the drill injected no fault"
    )
    if m.fault_at is None:
        head = f"⚠️ [DRILL] NO INCIDENT TO RESOLVE - {_target_label(result)}"
        duration = "not measured: no fault was injected"
    elif m.recovered_at is not None:
        head = f"✅ [DRILL] INCIDENT RESOLVED - {_target_label(result)}"
        duration = (
            f"{fmt_seconds(m.rto_seconds)} (RTO, fault to recovery);"
            f" downtime {fmt_seconds(m.downtime_seconds)} (detection to recovery)"
        )
    else:
        head = f"❌ [DRILL] INCIDENT NOT RESOLVED - {_target_label(result)}"
        why = m.unmeasured.get("recovered_at", result.verdict_reason)
        duration = f"not measured: no recovery ({why})"
    lines = [
        f"{DRILL_BANNER} generated by drills from run {result.run_id}",
        "",
        head,
        "",
        f"Incident Duration: {duration}",
        f"Root Cause: {root_cause}",
        "Resolution:" if m.recovered_at is not None else "Resolution (attempted):",
        *_bullets(recovery_activities(result), tb),
        "",
        "Follow-up Actions:",
        f"- Post-incident review scheduled for the next drill review (run {result.run_id})",
        f"- Preventive measures: {_follow_up(result)}",
        "",
        "Thank you for your patience during this incident.",
    ]
    return "\n".join(lines) + "\n"


def build_incident_texts(result: DrillResult, samples: Sequence[Sample]) -> IncidentTexts:
    """Both templates of a finished run, with the severity used."""
    level, reason = severity(result, samples)
    return IncidentTexts(
        severity=level,
        severity_reason=reason,
        declaration=declaration(result, samples),
        resolution=resolution(result),
    )
