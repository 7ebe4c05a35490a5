"""What a person reads in a report, computed once for every human-facing format.

Markdown and HTML show the same tables. Building their rows here, as formatted strings in order,
keeps both renderers to layout only and keeps every number formatted the same way in both
(through `drills.numbers`) and every measurement named the same way (through `drills.reports.labels`).
States (met, missed, ...) are words here; each format draws them its own way (HTML as inline SVG
icons, Markdown as words), never as emoji, which many machines cannot draw.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

from drills.models import (
    Comparison,
    DrillResult,
    Measurements,
    ObjectiveResult,
    Phase,
    Verdict,
)
from drills.numbers import (
    fmt_count,
    fmt_margin,
    fmt_offset,
    fmt_rate,
    fmt_seconds,
    fmt_value,
)
from drills.reports.labels import FIELD_LABELS, field_label, measurement_label, objective_label
from drills.reports.timebase import Timebase

__all__ = [
    "NOT_MEASURED",
    "ObjectiveRow",
    "PhaseRow",
    "ReportView",
    "Row",
    "State",
    "Tile",
    "TimelineRow",
    "build_view",
    "fmt_count",
    "fmt_margin",
    "fmt_offset",
    "fmt_rate",
    "fmt_seconds",
    "fmt_value",
]


class State(StrEnum):
    """How a figure stands, for the reader's eye: a CSS class and an icon in HTML, a word in
    Markdown."""

    MET = "met"
    MISSED = "missed"
    UNMEASURED = "unmeasured"
    INVALID = "invalid"
    ABORTED = "aborted"
    LOSS = "loss"  # data lost, though no objective of its own was missed
    INFO = "info"  # a figure with no objective


VERDICT_STATES: dict[Verdict, State] = {
    Verdict.MET: State.MET,
    Verdict.MISSED: State.MISSED,
    Verdict.INVALID: State.INVALID,
    Verdict.ABORTED: State.ABORTED,
}

_COMPARISON_SIGNS: dict[Comparison, str] = {
    Comparison.AT_MOST: "≤",
    Comparison.BELOW: "<",
    Comparison.EQUALS: "=",
}

NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Row:
    """One line of the summary: what, how much (formatted), and which field it comes from."""

    label: str
    value: str
    field: str
    measured: bool


@dataclass(frozen=True)
class Tile:
    """A headline figure: its value, the objective beside it, a short note, and how it stands."""

    label: str
    value: str
    objective: str
    note: str
    state: State
    measured: bool = True


@dataclass(frozen=True)
class ObjectiveRow:
    name: str
    threshold: str
    measured: str
    margin: str
    met: str  # "met" | "missed" | "not measured"
    state: State
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
    verdict_state: State
    verdict_reason: str
    status: str
    run_id: str
    target: str
    experiment: str
    started: str
    ended: str
    duration: str
    tiles: tuple[Tile, ...]
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


def _extra_value(key: str, value: float | int | str | None, tb: Timebase) -> str:
    if value is None:
        return NOT_MEASURED
    if isinstance(value, str):
        instant = _instant(value) if key.endswith("_at") else None
        return value if instant is None else _moment(tb, tb.clock.from_utc(instant))
    return fmt_value(value, measurement_label(key).unit)


def _instant(value: str) -> datetime | None:
    """A reported UTC instant (`alert_<name>_firing_at`), shown like the fault's own time."""
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None


def _summary(m: Measurements, tb: Timebase) -> tuple[Row, ...]:
    def row(field: str, value: str, raw: object) -> Row:
        measured = raw is not None
        return Row(FIELD_LABELS[field], value if measured else NOT_MEASURED, field, measured)

    rows = [
        row("fault_at", _moment(tb, m.fault_at), m.fault_at),
        row("detected_at", _moment(tb, m.detected_at), m.detected_at),
        row("recovered_at", _moment(tb, m.recovered_at), m.recovered_at),
        row("rto_seconds", fmt_seconds(m.rto_seconds), m.rto_seconds),
        row(
            "time_to_detect_seconds",
            fmt_seconds(m.time_to_detect_seconds),
            m.time_to_detect_seconds,
        ),
        row("downtime_seconds", fmt_seconds(m.downtime_seconds), m.downtime_seconds),
        row("rpo_seconds", fmt_seconds(m.rpo_seconds), m.rpo_seconds),
        row("writes_acknowledged", fmt_count(m.writes_acknowledged), m.writes_acknowledged),
        row("writes_failed", fmt_count(m.writes_failed), m.writes_failed),
        row("writes_lost", fmt_count(m.writes_lost), m.writes_lost),
        row(
            "writes_lost_after_fault",
            fmt_count(m.writes_lost_after_fault),
            m.writes_lost_after_fault,
        ),
        row("writes_corrupted", fmt_count(m.writes_corrupted), m.writes_corrupted),
        row("resolution_seconds", fmt_seconds(m.resolution_seconds), m.resolution_seconds),
    ]
    for store, loss in m.stores.items():  # the figures above are the worst store's
        for field, shown, raw in (
            ("writes_lost", fmt_count(loss.writes_lost), loss.writes_lost),
            ("rpo_seconds", fmt_seconds(loss.rpo_seconds), loss.rpo_seconds),
            ("writes_corrupted", fmt_count(loss.writes_corrupted), loss.writes_corrupted),
        ):
            measured = raw is not None
            rows.append(
                Row(
                    f"{FIELD_LABELS[field]}: {store}",
                    shown if measured else NOT_MEASURED,
                    f"stores.{store}.{field}",
                    measured,
                )
            )
    extras = sorted(m.extra, key=lambda key: (measurement_label(key).text.lower(), key))
    for key in extras:
        value = m.extra[key]
        rows.append(
            Row(measurement_label(key).text, _extra_value(key, value, tb), key, value is not None)
        )
    return tuple(rows)


def _state(o: ObjectiveResult) -> State:
    if o.met is None:
        return State.UNMEASURED
    return State.MET if o.met else State.MISSED


def _objective_row(o: ObjectiveResult) -> ObjectiveRow:
    state = _state(o)
    return ObjectiveRow(
        name=objective_label(o.name),
        threshold=f"{_COMPARISON_SIGNS[o.comparison]} {fmt_value(o.threshold, o.unit)}",
        measured=fmt_value(o.measured, o.unit),
        margin=fmt_margin(o.margin, o.unit),
        met=NOT_MEASURED if state is State.UNMEASURED else state.value,
        state=state,
        reason=o.reason or "",
    )


def _objective_tile(
    label: str, value: float | None, o: ObjectiveResult | None, why: str | None
) -> Tile:
    """A duration tile held against its objective: "5 s" beside "objective ≤ 15 min 00 s"."""
    shown = NOT_MEASURED if value is None else fmt_seconds(value)
    if o is None:
        state = State.UNMEASURED if value is None else State.INFO
        return Tile(label, shown, "no objective set", why or "", state, value is not None)
    objective = f"objective {_COMPARISON_SIGNS[o.comparison]} {fmt_value(o.threshold, o.unit)}"
    state = _state(o)
    if o.measured is None or o.margin is None:
        note = o.reason or why or ""
    elif o.margin >= 0:
        note = f"{fmt_value(o.margin, o.unit)} to spare"
    else:
        note = f"{fmt_value(-o.margin, o.unit)} over"
    return Tile(label, shown, objective, note, state, value is not None)


def _loss_tile(m: Measurements) -> Tile:
    acked = (
        ""
        if m.writes_acknowledged is None
        else f"of {fmt_count(m.writes_acknowledged)} acknowledged"
    )
    if m.writes_lost is None:
        why = m.unmeasured.get("writes_lost", "")
        return Tile("Writes lost", NOT_MEASURED, acked or "no canary", why, State.UNMEASURED, False)
    parts = []
    if m.writes_lost_after_fault is not None:
        parts.append(f"{fmt_count(m.writes_lost_after_fault)} after the fault")
    if m.writes_corrupted:
        parts.append(f"{fmt_count(m.writes_corrupted)} corrupted")
    state = State.LOSS if m.writes_lost or m.writes_corrupted else State.MET
    return Tile("Writes lost", fmt_count(m.writes_lost), acked, ", ".join(parts), state)


def _tiles(result: DrillResult) -> tuple[Tile, ...]:
    m = result.measurements
    by_name = {o.name: o for o in result.objectives}
    verdict = Tile(
        "Verdict",
        result.verdict.value.upper(),
        result.verdict_reason,
        f"run {result.status.value}",
        VERDICT_STATES[result.verdict],
    )
    rto = _objective_tile(
        FIELD_LABELS["rto_seconds"],
        m.rto_seconds,
        by_name.get("rto"),
        m.unmeasured.get("rto_seconds"),
    )
    rpo = _objective_tile(
        FIELD_LABELS["rpo_seconds"],
        m.rpo_seconds,
        by_name.get("rpo"),
        m.unmeasured.get("rpo_seconds"),
    )
    ttd_why = m.unmeasured.get("time_to_detect_seconds") or "fault to the first failure known"
    ttd = _objective_tile(
        FIELD_LABELS["time_to_detect_seconds"], m.time_to_detect_seconds, None, ttd_why
    )
    return (verdict, rto, rpo, _loss_tile(m), ttd)


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
                p95_latency=fmt_seconds(stats.p95_latency_seconds),
            )
        )
    return tuple(rows)


MARK_LABELS = {
    "fault": "fault injected",
    "detected": "failure detected",
    "recovered": "recovered",
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
            name=MARK_LABELS[mark],
            tags="",
            status="",
            mark=mark,
            fault=False,
        )
        keyed.append((t, index, row))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return tuple(row for _, _, row in keyed)


def _unmeasured(m: Measurements) -> tuple[tuple[str, str], ...]:
    """(label, reason) for unmeasured values, in the order of the summary (unknown names last)."""
    order = {f.name: i for i, f in enumerate(fields(Measurements))}
    keys = sorted(m.unmeasured, key=lambda key: (order.get(key, len(order)), key))
    return tuple((field_label(key), m.unmeasured[key]) for key in keys)


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
        verdict_state=VERDICT_STATES[result.verdict],
        verdict_reason=result.verdict_reason,
        status=result.status.value,
        run_id=result.run_id,
        target=_target(result),
        experiment=result.drill.experiment_path,
        started=tb.iso(result.started_at) or "",
        ended=tb.iso(result.ended_at) or "",
        duration=fmt_seconds(result.ended_at - result.started_at),
        tiles=_tiles(result),
        summary=_summary(m, tb),
        objectives=tuple(_objective_row(o) for o in result.objectives),
        phases=_phases(m),
        timeline=_timeline(result, tb),
        unmeasured=_unmeasured(m),
        notes=result.notes,
    )
