"""The timeline chart of `report.html`, drawn on the server as inline SVG.

A report must open offline and print, so the chart is plain SVG markup: no script, no web fonts,
no external reference. One lane per signal shows ok/failed segments built from the samples, one
row per activity shows when each ran, a shaded band spans the fault to the recovery, and vertical
marks label fault / detected / recovered over a time axis in seconds from the start of the run.
Below the signals, a canary lane shows the canary's writes by send time: acknowledged, not
acknowledged (refused or failed), and acknowledged but lost (or corrupted) after recovery.
When the drill reported alert timelines (see `alert_lanes.py`), an "Alerts" group shows each
alert pending (yellow) and firing (red).

Lanes stay small: consecutive equal states merge into one segment, a pause in sampling longer than
three typical intervals shows as "no data", and a lane that still has more than `MAX_SEGMENTS`
segments (a flapping signal) is re-cut per pixel column with failure winning, so even a short
failure stays visible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from html import escape
from itertools import pairwise
from statistics import median

from drills.models import ActivityMark, CanaryLog, DrillResult, Sample, Stage
from drills.numbers import fmt_count, fmt_offset
from drills.reports.alert_lanes import AlertRow, alert_rows
from drills.reports.canary_lane import CanaryRow, WriteFate, canary_rows

MAX_SEGMENTS = 200
WIDTH = 1000
PLOT_X0 = 215.0
PLOT_X1 = 985.0
LABEL_X = 6.0
LABEL_CHARS = 32
ROW_H = 16.0
BAR_H = 12.0
MARK_ROW_H = 14.0
CAPTION_H = 18.0
SECTION_GAP = 10.0
AXIS_H = 40.0

OK_FILL = "#2f9e44"
FAILED_FILL = "#e03131"
MIXED_FILL = "#fcc419"
NO_DATA_FILL = "#f1f3f5"
GRID_STROKE = "#dee2e6"
TEXT_FILL = "#343a40"
MUTED_FILL = "#868e96"
STAGE_FILLS = {
    Stage.HYPOTHESIS_BEFORE: "#adb5bd",
    Stage.METHOD: "#4c6ef5",
    Stage.HYPOTHESIS_AFTER: "#adb5bd",
    Stage.ROLLBACK: "#7950f2",
}
FAULT_FILL = "#f76707"
WRITE_FILLS = {
    WriteFate.ACKNOWLEDGED: "#69db7c",
    WriteFate.FAILED: "#ffa8a8",
    WriteFate.LOST: "#c2255c",
    WriteFate.CORRUPTED: "#5f3dc4",
}
FAULT_TEXT = "#d9480f"
MARKS = (
    ("fault", "fault", "#f76707"),
    ("detected", "detected", "#c92a2a"),
    ("recovered", "recovered", "#2b8a3e"),
)
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


class LaneState(StrEnum):
    """What a stretch of a signal lane shows."""

    OK = "ok"
    FAILED = "failed"
    MIXED = "mixed"  # only after bucketing: ok and failed samples within one pixel column


@dataclass(frozen=True)
class Segment:
    """A stretch of one signal in one state; `samples` is 0 once bucketed per pixel column."""

    start: float
    end: float
    state: LaneState
    samples: int
    detail: str | None = None


STATE_FILLS = {LaneState.OK: OK_FILL, LaneState.FAILED: FAILED_FILL, LaneState.MIXED: MIXED_FILL}


def _typical_interval(times: Sequence[float], fallback: float) -> float:
    gaps = [b - a for a, b in pairwise(times) if b > a]
    return median(gaps) if gaps else fallback


def lane_segments(samples: Sequence[Sample], end: float, fallback_interval: float) -> list[Segment]:
    """One signal's samples merged into segments of equal state (gaps in sampling stay gaps).

    A sample stands until the next one, or for one typical interval when the next one is more
    than three typical intervals away (or when it is the last one, never past `end`).
    """
    ordered = sorted(samples, key=lambda s: s.t)
    step = _typical_interval([s.t for s in ordered], fallback_interval)
    segments: list[Segment] = []
    for i, s in enumerate(ordered):
        if i + 1 < len(ordered) and ordered[i + 1].t - s.t <= 3 * step:
            stop = ordered[i + 1].t
        elif i + 1 < len(ordered):
            stop = s.t + step
        else:
            stop = max(s.t, min(s.t + step, end))
        state = LaneState.OK if s.ok else LaneState.FAILED
        prev = segments[-1] if segments else None
        if prev is not None and prev.state is state and prev.end >= s.t:
            detail = prev.detail or (None if s.ok else s.detail)
            segments[-1] = Segment(prev.start, stop, state, prev.samples + 1, detail)
        else:
            segments.append(Segment(s.t, stop, state, 1, None if s.ok else s.detail))
    return segments


def bucket(segments: Sequence[Segment], t0: float, t1: float, columns: int) -> list[Segment]:
    """Segments re-cut at `columns` equal columns of [t0, t1].

    A column with only ok time is ok, with only failed time failed, with both mixed: a failure
    never disappears into a column, and a flapping signal does not look solidly down.
    """
    span = t1 - t0
    seen: list[set[LaneState]] = [set() for _ in range(columns)]
    for seg in segments:
        c0 = min(columns - 1, max(0, int((seg.start - t0) / span * columns)))
        c1 = min(columns, max(c0 + 1, math.ceil((seg.end - t0) / span * columns)))
        for c in range(c0, c1):
            seen[c].add(seg.state)
    states: list[LaneState | None] = [
        None if not kinds else next(iter(kinds)) if len(kinds) == 1 else LaneState.MIXED
        for kinds in seen
    ]
    out: list[Segment] = []
    run_start = 0
    for c in range(1, columns + 1):
        if c < columns and states[c] == states[run_start]:
            continue
        state = states[run_start]
        if state is not None:
            start = t0 + run_start / columns * span
            out.append(Segment(start, t0 + c / columns * span, state, 0))
        run_start = c
    return out


def _ticks(span: float) -> tuple[float, list[float]]:
    raw = span / 10
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if raw <= m * magnitude)
    count = math.floor(span / step + 1e-9)
    return step, [i * step for i in range(count + 1)]


def _tick_label(value: float, step: float) -> str:
    decimals = 0 if step >= 1 else -math.floor(math.log10(step))
    return f"{value:.{decimals}f}"


def _truncate(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _f(value: float) -> str:
    return f"{value:.1f}"


class _Canvas:
    """Maps run time to x and collects SVG elements, with every text escaped."""

    def __init__(self, t0: float, t1: float) -> None:
        self.t0 = t0
        self.span = t1 - t0
        self.parts: list[str] = []

    def x(self, t: float) -> float:
        ratio = min(1.0, max(0.0, (t - self.t0) / self.span))
        return PLOT_X0 + ratio * (PLOT_X1 - PLOT_X0)

    def rect(self, x: float, y: float, w: float, h: float, fill: str, extra: str = "") -> None:
        self.parts.append(
            f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" height="{_f(h)}" fill="{fill}"{extra}/>'
        )

    def text(self, x: float, y: float, text: str, extra: str = "") -> None:
        self.parts.append(f'<text x="{_f(x)}" y="{_f(y)}"{extra}>{escape(text)}</text>')

    def line(
        self, x1: float, y1: float, x2: float, y2: float, stroke: str, extra: str = ""
    ) -> None:
        self.parts.append(
            f'<line x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}"'
            f' stroke="{stroke}"{extra}/>'
        )

    def open_group(self, title: str, extra: str = "") -> None:
        self.parts.append(f"<g{extra}><title>{escape(title)}</title>")

    def close_group(self) -> None:
        self.parts.append("</g>")


def _signals(samples: Sequence[Sample]) -> list[tuple[str, bool, list[Sample]]]:
    """Signals with their samples: critical ones first, then in order of first appearance."""
    by_signal: dict[str, list[Sample]] = {}
    critical: dict[str, bool] = {}
    for s in samples:
        by_signal.setdefault(s.signal, []).append(s)
        critical[s.signal] = critical.get(s.signal, False) or s.critical
    order = {name: i for i, name in enumerate(by_signal)}
    names = sorted(by_signal, key=lambda name: (not critical[name], order[name]))
    return [(name, critical[name], by_signal[name]) for name in names]


def _segment_title(name: str, seg: Segment, t0: float) -> str:
    state = "ok and failed (flapping)" if seg.state is LaneState.MIXED else seg.state.value
    text = f"{name}: {state} {fmt_offset(seg.start - t0)} → {fmt_offset(seg.end - t0)}"
    if seg.samples:
        text += f" ({seg.samples} samples)"
    if seg.detail:
        text += f": {seg.detail}"
    return text


def _draw_lanes(c: _Canvas, result: DrillResult, samples: Sequence[Sample], y: float) -> float:
    c.text(LABEL_X, y + 12, "Signals", ' font-weight="600"')
    y += CAPTION_H
    signals = _signals(samples)
    if not signals:
        c.text(PLOT_X0, y + 11, "no samples recorded", f' fill="{MUTED_FILL}"')
        return y + ROW_H
    fallback = result.measurements.resolution_seconds or 1.0
    t1 = c.t0 + c.span
    for name, critical, lane in signals:
        label = _truncate(name) if critical else _truncate(name + " (info)")
        style = "" if critical else ' font-style="italic"'
        c.text(LABEL_X, y + 11, label, f' data-signal="{escape(name)}"{style}')
        c.rect(PLOT_X0, y + 1, PLOT_X1 - PLOT_X0, BAR_H, NO_DATA_FILL)
        segments = lane_segments(lane, t1, fallback)
        if len(segments) > MAX_SEGMENTS:
            segments = bucket(segments, c.t0, t1, int(PLOT_X1 - PLOT_X0))
        for seg in segments:
            x0, x1 = c.x(seg.start), c.x(seg.end)
            c.open_group(_segment_title(name, seg, c.t0))
            c.rect(
                x0,
                y + 1,
                max(x1 - x0, 0.6),
                BAR_H,
                STATE_FILLS[seg.state],
                f' data-signal="{escape(name)}" data-state="{seg.state.value}"',
            )
            c.close_group()
        y += ROW_H
    return y


def _activity_title(a: ActivityMark, t0: float) -> str:
    end = "still running" if a.end is None else fmt_offset(a.end - t0)
    tags = f", tags: {', '.join(a.tags)}" if a.tags else ""
    status = a.status or "no status"
    return (
        f"{a.name} ({a.stage.value}, {a.kind}{tags}): {fmt_offset(a.start - t0)} → {end}, {status}"
    )


def _row_label(row: CanaryRow) -> str:
    if row.total is None:
        return f"{row.fate.value} (unknown)"
    return f"{row.fate.value} ({fmt_count(row.total)})"


def _draw_canary(c: _Canvas, canary: CanaryLog | None, y: float) -> float:
    c.text(LABEL_X, y + 12, "Canary writes", ' font-weight="600"')
    y += CAPTION_H
    if canary is None:
        c.text(PLOT_X0, y + 11, "no canary ran in this drill", f' fill="{MUTED_FILL}"')
        return y + ROW_H
    for row in canary_rows(canary, c.span / (PLOT_X1 - PLOT_X0)):
        fill = WRITE_FILLS[row.fate]
        c.text(LABEL_X, y + 11, _row_label(row), f' data-canary="{row.fate.name.lower()}"')
        c.rect(PLOT_X0, y + 1, PLOT_X1 - PLOT_X0, BAR_H, NO_DATA_FILL)
        for span in row.spans:
            x0, x1 = c.x(span.start), c.x(span.end)
            title = (
                f"{fmt_count(span.writes)} {row.fate.value} write(s) sent"
                f" {fmt_offset(span.start - c.t0)} → {fmt_offset(span.end - c.t0)}"
            )
            c.open_group(title)
            c.rect(
                x0, y + 1, max(x1 - x0, 2.0), BAR_H, fill, f' data-fate="{row.fate.name.lower()}"'
            )
            c.close_group()
        if row.note:
            text_x = PLOT_X0 + 4 if not row.spans else PLOT_X1 - 4
            anchor = "" if not row.spans else ' text-anchor="end"'
            c.text(text_x, y + 11, row.note, f' fill="{MUTED_FILL}"{anchor}')
        elif not row.spans and row.total == 0:
            c.text(PLOT_X0 + 4, y + 11, "none", f' fill="{MUTED_FILL}"')
        y += ROW_H
    return y


def _draw_alerts(c: _Canvas, rows: Sequence[AlertRow], y: float) -> float:
    c.text(LABEL_X, y + 12, "Alerts (pending, firing)", ' font-weight="600"')
    y += CAPTION_H
    t1 = c.t0 + c.span
    for row in rows:
        end = t1 if row.resolved is None else row.resolved
        said = []
        if row.pending is not None:
            said.append(f"pending {fmt_offset(row.pending - c.t0)}")
        said.append(
            "never fired" if row.firing is None else f"firing {fmt_offset(row.firing - c.t0)}"
        )
        if row.resolved is not None:
            said.append(f"resolved {fmt_offset(row.resolved - c.t0)}")
        c.open_group(f"{row.name}: {', '.join(said)}")
        c.text(LABEL_X, y + 11, _truncate(row.name), f' data-alert="{escape(row.name)}"')
        c.rect(PLOT_X0, y + 1, PLOT_X1 - PLOT_X0, BAR_H, NO_DATA_FILL)
        pending_until = end if row.firing is None else row.firing
        if row.pending is not None and row.pending < pending_until:
            x0 = c.x(row.pending)
            c.rect(x0, y + 1, max(c.x(pending_until) - x0, 1.0), BAR_H, MIXED_FILL)
        if row.firing is not None:
            x0 = c.x(row.firing)
            c.rect(x0, y + 1, max(c.x(end) - x0, 2.0), BAR_H, FAILED_FILL)
        c.close_group()
        y += ROW_H
    return y


def _draw_activities(c: _Canvas, activities: Sequence[ActivityMark], y: float) -> float:
    c.text(LABEL_X, y + 12, "Activities", ' font-weight="600"')
    y += CAPTION_H
    if not activities:
        c.text(PLOT_X0, y + 11, "no activities recorded", f' fill="{MUTED_FILL}"')
        return y + ROW_H
    t1 = c.t0 + c.span
    for a in sorted(activities, key=lambda a: a.start):
        fill = FAULT_FILL if a.is_fault else STAGE_FILLS[a.stage]
        x0 = c.x(a.start)
        x1 = c.x(t1 if a.end is None else a.end)
        extra = ' data-activity="1"'
        if a.status == "failed":
            extra += f' stroke="{FAILED_FILL}" stroke-width="2"'
        if a.end is None:
            extra += ' fill-opacity="0.5"'
        c.open_group(_activity_title(a, c.t0))
        style = f' fill="{FAULT_TEXT}" font-weight="600"' if a.is_fault else ""
        c.text(LABEL_X, y + 11, _truncate(a.name), style)
        c.rect(x0, y + 2, max(x1 - x0, 2.0), BAR_H - 2, fill, extra)
        c.close_group()
        y += ROW_H
    return y


def _draw_axis(c: _Canvas, top: float, bottom: float) -> None:
    step, ticks = _ticks(c.span)
    c.line(PLOT_X0, bottom + 4, PLOT_X1, bottom + 4, TEXT_FILL)
    for value in ticks:
        x = c.x(c.t0 + value)
        c.line(x, top, x, bottom, GRID_STROKE)
        c.line(x, bottom + 4, x, bottom + 8, TEXT_FILL)
        c.text(x, bottom + 20, _tick_label(value, step), ' text-anchor="middle"')
    middle = (PLOT_X0 + PLOT_X1) / 2
    c.text(middle, bottom + 35, "seconds from start", f' text-anchor="middle" fill="{MUTED_FILL}"')


def _draw_window(c: _Canvas, result: DrillResult, top: float, bottom: float) -> None:
    """A light band from the fault to the recovery (or to the end when never recovered)."""
    m = result.measurements
    if m.fault_at is not None:
        x0 = c.x(m.fault_at)
        x1 = c.x(m.recovered_at if m.recovered_at is not None else c.t0 + c.span)
        c.rect(x0, top, max(x1 - x0, 0.0), bottom - top, FAILED_FILL, ' fill-opacity="0.08"')


def _draw_marks(c: _Canvas, result: DrillResult, top: float, bottom: float) -> None:
    m = result.measurements
    times = {"fault": m.fault_at, "detected": m.detected_at, "recovered": m.recovered_at}
    if all(t is None for t in times.values()):
        c.text(
            PLOT_X0,
            8 + MARK_ROW_H - 3,
            "no fault injected: nothing to mark",
            f' fill="{MUTED_FILL}"',
        )
    for row, (key, label, colour) in enumerate(MARKS):
        t = times[key]
        if t is None:
            continue
        x = c.x(t)
        c.line(x, top - 2, x, bottom, colour, ' stroke-width="1.5" stroke-dasharray="4 3"')
        text = f"{label} {fmt_offset(t - c.t0)}"
        near_end = x > PLOT_X1 - 130
        anchor = ' text-anchor="end"' if near_end else ""
        tx = x - 4 if near_end else x + 4
        ty = 8 + (row + 1) * MARK_ROW_H - 3
        c.text(tx, ty, text, f' fill="{colour}" font-weight="600" data-mark="{key}"{anchor}')


def timeline_svg(
    result: DrillResult, samples: Sequence[Sample], canary: CanaryLog | None = None
) -> str:
    """The chart as one `<svg>` element (no XML namespace needed inside HTML)."""
    ends = [result.ended_at, *(s.t for s in samples)]
    if canary is not None:
        ends += [w.sent_t for w in canary.acked[-1:]] + list(canary.failed_sent[-1:])
    ends += [a.end if a.end is not None else a.start for a in result.activities]
    t0 = result.started_at
    t1 = max(max(ends), t0 + 1.0)
    c = _Canvas(t0, t1)
    back = _Canvas(t0, t1)  # drawn first: the shaded window and the grid sit under the lanes
    top = 8 + len(MARKS) * MARK_ROW_H + 4
    y = _draw_lanes(c, result, samples, top)
    y = _draw_canary(c, canary, y + SECTION_GAP)
    alerts = alert_rows(result)
    if alerts:
        y = _draw_alerts(c, alerts, y + SECTION_GAP)
    y = _draw_activities(c, result.activities, y + SECTION_GAP)
    bottom = y + 2
    _draw_axis(back, top, bottom)
    _draw_window(back, result, top, bottom)
    _draw_marks(c, result, top, bottom)
    height = bottom + AXIS_H
    title = f"Timeline of drill {result.drill.scenario} (run {result.run_id})"
    return (
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {_f(height)}" width="100%"'
        f' role="img" aria-label="{escape(title)}" font-family="{FONT}" font-size="11"'
        f' fill="{TEXT_FILL}">\n<title>{escape(title)}</title>\n'
        + "\n".join([*back.parts, *c.parts])  # one element a line: readable golden-file diffs
        + "\n</svg>"
    )


LEGEND: tuple[tuple[str, str], ...] = (
    ("signal ok", OK_FILL),
    ("signal failed", FAILED_FILL),
    ("signal flapping", MIXED_FILL),
    ("no data", NO_DATA_FILL),
    ("fault activity", FAULT_FILL),
    ("method activity", STAGE_FILLS[Stage.METHOD]),
    ("steady-state probe", STAGE_FILLS[Stage.HYPOTHESIS_BEFORE]),
    ("rollback", STAGE_FILLS[Stage.ROLLBACK]),
    ("fault → recovery", "#fbe3e3"),
    ("write acknowledged", WRITE_FILLS[WriteFate.ACKNOWLEDGED]),
    ("write not acknowledged", WRITE_FILLS[WriteFate.FAILED]),
    ("acknowledged write lost", WRITE_FILLS[WriteFate.LOST]),
    ("acknowledged write corrupted", WRITE_FILLS[WriteFate.CORRUPTED]),
)
