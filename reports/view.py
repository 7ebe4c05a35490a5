"""What a person reads in a report, computed once for every human-facing format.

Markdown and HTML show the same tables. Building their rows here, as formatted strings in order,
keeps both renderers to layout only and keeps every number formatted the same way in both.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from drills.models import (
    Comparison,
    DrillResult,
    Measurements,
    ObjectiveResult,
    Phase,
    Verdict,
)
from reports.timebase import Timebase

VERDICT_BADGES: dict[Verdict, str] = {
    Verdict.MET: "✅ met",
    Verdict.MISSED: "❌ missed",
    Verdict.INVALID: "⚠️ invalid",
    Verdict.ABORTED: "⛔ aborted",
}

_COMPARISON_SIGNS: dict[Comparison, str] = {
    Comparison.AT_MOST: "≤",
    Comparison.BELOW: "<",
    Comparison.EQUALS: "=",
}

NOT_MEASURED = "not measured"


def fmt_seconds(value: float | None) -> str:
    """`12.345 s`, or `905.2 s (15 min 05.2 s)` past a minute; `—` for None."""
    if value is None:
        return "—"
    if abs(value) < 60:
        return f"{value:.3f} s"
    minutes, seconds = divmod(abs(value), 60)
    sign = "-" if value < 0 else ""
    return f"{value:.1f} s ({sign}{int(minutes)} min {seconds:04.1f} s)"


def fmt_offset(value: float) -> str:
    """An offset from the start of the run: `+12.345 s`."""
    return f"{value:+.3f} s"


def fmt_count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def fmt_rate(value: float | None) -> str:
    """A fraction as a percentage: 0.0123 -> `1.23 %`."""
    return "—" if value is None else f"{value * 100:.2f} %"


def fmt_latency(value: float | None) -> str:
    """Seconds as milliseconds: 0.0421 -> `42.1 ms`."""
    return "—" if value is None else f"{value * 1000:.1f} ms"


def fmt_value(value: float | None, unit: str) -> str:
    """A measured or threshold value in its unit (`s`, `ms`, `ratio`, `%`, a count, ...)."""
    if value is None:
        return "—"
    if unit == "s":
        return fmt_seconds(value)
    if unit == "ratio":
        return fmt_rate(value)
    return f"{value:.6g} {unit}".rstrip()


def fmt_margin(value: float | None, unit: str) -> str:
    """A margin with its sign: positive means room to spare."""
    if value is None:
        return "—"
    text = fmt_value(value, unit)
    return text if value < 0 else f"+{text}"


@dataclass(frozen=True)
class Row:
    """One line of the summary: what, how much (formatted), and which field it comes from."""

    label: str
    value: str
    field: str
    measured: bool


@dataclass(frozen=True)
class ObjectiveRow:
    name: str
    threshold: str
    measured: str
    margin: str
    met: str
    state: str  # "met" | "missed" | "unmeasured": a CSS class in HTML
    reason: str


@dataclass(frozen=True)
class PhaseRow:
    phase: str
    requests: str
    errors: str
    error_rate: str
    p95_latency: str


@dataclass(frozen=True)
class TimelineRow:
    """An activity or a mark (fault / detected / recovered), at an offset from the start."""

    offset: str
    duration: str
    stage: str
    kind: str
    name: str
    tags: str
    status: str
    mark: str  # "" for activities, else "fault" | "detected" | "recovered"
    fault: bool


@dataclass(frozen=True)
class ReportView:
    """Everything the Markdown and HTML templates show, already formatted."""

    title: str
    scenario: str
    verdict: str
    verdict_badge: str
    verdict_reason: str
    status: str
    run_id: str
    target: str
    experiment: str
    started: str
    ended: str
    duration: str
    summary: tuple[Row, ...]
    objectives: tuple[ObjectiveRow, ...]
    phases: tuple[PhaseRow, ...]
    timeline: tuple[TimelineRow, ...]
    unmeasured: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]


def _moment(tb: Timebase, t: float | None) -> str:
    if t is None:
        return NOT_MEASURED
    return f"{fmt_offset(tb.offset(t))} ({tb.iso(t)})"


def _summary(m: Measurements, tb: Timebase) -> tuple[Row, ...]:
    def row(label: str, field: str, value: str, raw: object) -> Row:
        measured = raw is not None
        return Row(label, value if measured else NOT_MEASURED, field, measured)

    rows = [
        row("Fault injected", "fault_at", _moment(tb, m.fault_at), m.fault_at),
        row("Failure detected", "detected_at", _moment(tb, m.detected_at), m.detected_at),
        row("Recovered", "recovered_at", _moment(tb, m.recovered_at), m.recovered_at),
        row("Recovery time (RTO)", "rto_seconds", fmt_seconds(m.rto_seconds), m.rto_seconds),
        row(
            "Time to detect (TTD)",
            "time_to_detect_seconds",
            fmt_seconds(m.time_to_detect_seconds),
            m.time_to_detect_seconds,
        ),
        row("Downtime", "downtime_seconds", fmt_seconds(m.downtime_seconds), m.downtime_seconds),
        row("Data loss window (RPO)", "rpo_seconds", fmt_seconds(m.rpo_seconds), m.rpo_seconds),
        row(
            "Writes acknowledged",
            "writes_acknowledged",
            fmt_count(m.writes_acknowledged),
            m.writes_acknowledged,
        ),
        row(
            "Writes not acknowledged", "writes_failed", fmt_count(m.writes_failed), m.writes_failed
        ),
        row("Writes lost", "writes_lost", fmt_count(m.writes_lost), m.writes_lost),
        row(
            "… of which acknowledged after the fault",
            "writes_lost_after_fault",
            fmt_count(m.writes_lost_after_fault),
            m.writes_lost_after_fault,
        ),
        row(
            "Writes corrupted",
            "writes_corrupted",
            fmt_count(m.writes_corrupted),
            m.writes_corrupted,
        ),
        row(
            "Sampling resolution",
            "resolution_seconds",
            fmt_seconds(m.resolution_seconds),
            m.resolution_seconds,
        ),
    ]
    for key in sorted(m.extra):
        value = m.extra[key]
        text = f"{value:.6g}" if isinstance(value, float) else str(value)
        rows.append(row(key, key, text, value))
    return tuple(rows)


def _objective_row(o: ObjectiveResult) -> ObjectiveRow:
    if o.met is None:
        met, state = "⚠️ not measured", "unmeasured"
    elif o.met:
        met, state = "✅ met", "met"
    else:
        met, state = "❌ missed", "missed"
    return ObjectiveRow(
        name=o.name,
        threshold=f"{_COMPARISON_SIGNS[o.comparison]} {fmt_value(o.threshold, o.unit)}",
        measured=fmt_value(o.measured, o.unit),
        margin=fmt_margin(o.margin, o.unit),
        met=met,
        state=state,
        reason=o.reason or "",
    )


def _phases(m: Measurements) -> tuple[PhaseRow, ...]:
    rows = []
    for phase in Phase:
        stats = m.phases.get(phase)
        if stats is None:
            continue
        rows.append(
            PhaseRow(
                phase=phase.value,
                requests=fmt_count(stats.requests),
                errors=fmt_count(stats.errors),
                error_rate=fmt_rate(stats.error_rate),
                p95_latency=fmt_latency(stats.p95_latency_seconds),
            )
        )
    return tuple(rows)


_MARK_LABELS = {
    "fault": "⚡ fault injected",
    "detected": "🔎 failure detected",
    "recovered": "✔️ recovered",
}


def _timeline(result: DrillResult, tb: Timebase) -> tuple[TimelineRow, ...]:
    keyed: list[tuple[float, int, TimelineRow]] = []
    for index, a in enumerate(result.activities):
        duration = "running" if a.end is None else fmt_seconds(a.end - a.start)
        row = TimelineRow(
            offset=fmt_offset(tb.offset(a.start)),
            duration=duration,
            stage=a.stage.value,
            kind=a.kind,
            name=a.name,
            tags=", ".join(a.tags),
            status=a.status or "—",
            mark="",
            fault=a.is_fault,
        )
        keyed.append((a.start, index, row))
    m = result.measurements
    marks = (("fault", m.fault_at), ("detected", m.detected_at), ("recovered", m.recovered_at))
    for index, (mark, t) in enumerate(marks, start=len(result.activities)):
        if t is None:
            continue
        row = TimelineRow(
            offset=fmt_offset(tb.offset(t)),
            duration="",
            stage="",
            kind="mark",
            name=_MARK_LABELS[mark],
            tags="",
            status="",
            mark=mark,
            fault=False,
        )
        keyed.append((t, index, row))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return tuple(row for _, _, row in keyed)


def _unmeasured(m: Measurements) -> tuple[tuple[str, str], ...]:
    """Reasons for unmeasured values, in the order of the summary (unknown names last)."""
    order = {f.name: i for i, f in enumerate(fields(Measurements))}
    keys = sorted(m.unmeasured, key=lambda key: (order.get(key, len(order)), key))
    return tuple((key, m.unmeasured[key]) for key in keys)


def _target(result: DrillResult) -> str:
    t = result.target
    text = f"{t.name} ({t.kind})"
    return f"{text} at {t.address}" if t.address else text


def build_view(result: DrillResult) -> ReportView:
    """The formatted tables and facts of a finished run."""
    tb = Timebase.of(result)
    m = result.measurements
    return ReportView(
        title=result.drill.title or result.drill.scenario,
        scenario=result.drill.scenario,
        verdict=result.verdict.value,
        verdict_badge=VERDICT_BADGES[result.verdict],
        verdict_reason=result.verdict_reason,
        status=result.status.value,
        run_id=result.run_id,
        target=_target(result),
        experiment=result.drill.experiment_path,
        started=tb.iso(result.started_at) or "",
        ended=tb.iso(result.ended_at) or "",
        duration=fmt_seconds(result.ended_at - result.started_at),
        summary=_summary(m, tb),
        objectives=tuple(_objective_row(o) for o in result.objectives),
        phases=_phases(m),
        timeline=_timeline(result, tb),
        unmeasured=_unmeasured(m),
        notes=result.notes,
    )
