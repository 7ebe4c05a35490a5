"""`drills trend`: a scenario's runs over time, as text and as one self-contained HTML page.

The page is inline SVG and CSS only (no script, no external reference), like `report.html`: one
chart per metric (RTO, time to detect, RPO) with one point per run coloured by verdict, the
current baseline's range as a shaded band with its median, the objective as a dashed line (or a
note when it is far above every run, so the runs stay readable), the newest invocation ringed,
and runs that proved nothing (invalid, aborted) marked on the axis. Below the charts, when given,
the runbook steps the drill exercises and those no drill does (`runbook_coverage.py`).
"""

from __future__ import annotations

import math
from html import escape

from drills.models import Verdict
from drills.reports.runbook_coverage import COVERAGE_CSS, coverage_section
from drills.runbook.coverage import Coverage
from drills.trend import SERIES, Series, Trend

__all__ = ["trend_html", "trend_text"]

VERDICT_FILL = {
    Verdict.MET: "#2f9e44",
    Verdict.MISSED: "#e03131",
    Verdict.INVALID: "#f59f00",
    Verdict.ABORTED: "#ae3ec9",
}
WIDTH, HEIGHT = 960.0, 230.0
X0, X1, Y0, Y1 = 70.0, 940.0, 30.0, 190.0  # plot area: left, right, top, bottom
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
OBJECTIVE_ON_CHART = 3.0  # draw the objective when it is within 3x the largest value


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def trend_text(trend: Trend) -> str:
    """One line per run, newest last, and the baseline and objectives in a header."""
    lines = [
        f"{trend.scenario} on {trend.target_kind}: last {len(trend.runs)} run(s)",
        f"baseline: {trend.baseline_note}",
    ]
    for series in SERIES:
        band = trend.bands.get(series.key)
        objective = trend.objectives.get(series.key)
        parts = [series.label]
        if band:
            parts.append(f"baseline median {band.median:.3f} s ({band.low:.3f}-{band.high:.3f})")
        if objective is not None:
            parts.append(f"objective <= {objective:g} s")
        lines.append("  " + ", ".join(parts))
    lines.append("")
    lines.append(
        f"{'started (UTC)':<17} {'verdict':<8} {'RTO s':>8} {'TTD s':>8} {'RPO s':>8}"
        f" {'lost':>5}  note"
    )
    for run in trend.runs:
        notes = []
        if run.run_id in trend.baseline_ids:
            notes.append("baseline")
        if run.invocation_id == trend.latest_invocation:
            notes.append("newest invocation")
        lost = "n/a" if run.writes_lost is None else str(run.writes_lost)
        lines.append(
            f"{run.started_at:%Y-%m-%d %H:%M}  {run.verdict.value:<8}"
            f" {_fmt(run.rto_seconds):>8} {_fmt(run.ttd_seconds):>8} {_fmt(run.rpo_seconds):>8}"
            f" {lost:>5}  {', '.join(notes)}"
        )
    return "\n".join(lines) + "\n"


def _nice_step(raw: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten, at least `raw`."""
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def _x(index: int, count: int) -> float:
    return X0 + (X1 - X0) * (0.5 if count == 1 else index / (count - 1))


def _chart(trend: Trend, series: Series) -> str:
    values = trend.values(series)
    count = len(values)
    measured = [v for v in values if v is not None]
    band = trend.bands.get(series.key)
    objective = trend.objectives.get(series.key)
    top = max([*measured, band.high if band else 0.0]) or 1.0  # all zero: a 0-1 s axis
    draw_objective = objective is not None and objective <= OBJECTIVE_ON_CHART * top
    if draw_objective and objective is not None:
        top = max(top, objective)
    step = _nice_step(top * 1.05 / 4)
    top = step * math.ceil(top * 1.05 / step)

    def y(value: float) -> float:
        return Y1 - (Y1 - Y0) * value / top

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:.0f} {HEIGHT:.0f}"'
        f' role="img" aria-label="{escape(series.label)} over runs">',
        f'<text x="{X0}" y="18" class="title">{escape(series.label)} (s)</text>',
    ]
    for k in range(round(top / step) + 1):  # grid and y labels
        tick = step * k
        out.append(
            f'<line x1="{X0}" x2="{X1}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" class="grid"/>'
        )
        out.append(
            f'<text x="{X0 - 6}" y="{y(tick) + 4:.1f}" class="axis" text-anchor="end">{tick:.3g}</text>'
        )
    if band:
        out.append(
            f'<rect x="{X0}" y="{y(band.high):.1f}" width="{X1 - X0}"'
            f' height="{max(1.0, y(band.low) - y(band.high)):.1f}" class="band"/>'
        )
        out.append(
            f'<line x1="{X0}" x2="{X1}" y1="{y(band.median):.1f}" y2="{y(band.median):.1f}" class="median"/>'
        )
        out.append(
            f'<text x="{X1}" y="18" class="note" text-anchor="end">baseline (shaded) {band.low:.3g}-{band.high:.3g} s, median {band.median:.3g} s</text>'
        )
    if objective is not None and draw_objective:
        out.append(
            f'<line x1="{X0}" x2="{X1}" y1="{y(objective):.1f}" y2="{y(objective):.1f}" class="objective"/>'
        )
        out.append(
            f'<text x="{X0 + 4}" y="{y(objective) - 4:.1f}" class="note">objective {objective:g} s</text>'
        )
    elif objective is not None:
        out.append(
            f'<text x="{X0 + 4}" y="{Y0 - 2:.1f}" class="note">objective {objective:g} s (far above every run: not drawn)</text>'
        )
    points: list[str] = []
    marks: list[str] = []
    for index, (run, value) in enumerate(zip(trend.runs, values, strict=True)):
        x = _x(index, count)
        fill = VERDICT_FILL[run.verdict]
        label = escape(f"{run.run_id}: {run.verdict.value}, {series.label} {_fmt(value)} s")
        if run.verdict in (Verdict.INVALID, Verdict.ABORTED) or value is None:
            marks.append(
                f'<path d="M{x - 5:.1f},{Y1 + 5:.1f} l10,10 m0,-10 l-10,10" stroke="{fill}"'
                f' stroke-width="2.5"><title>{label} (proves nothing)</title></path>'
            )
            continue
        points.append(f"{x:.1f},{y(value):.1f}")
        newest = run.invocation_id == trend.latest_invocation
        css = ' class="newest"' if newest else ""
        marks.append(
            f'<circle cx="{x:.1f}" cy="{y(value):.1f}" r="{6 if newest else 4}" fill="{fill}"'
            f"{css}><title>{label}</title></circle>"
        )
    if len(points) > 1:  # the line first, so the points stay on top
        out.append(f'<polyline points="{" ".join(points)}" class="line"/>')
    out += marks
    out.append(f'<line x1="{X0}" x2="{X1}" y1="{Y1}" y2="{Y1}" class="axisline"/>')
    if trend.runs:
        first, last = trend.runs[0].started_at, trend.runs[-1].started_at
        out.append(f'<text x="{X0}" y="{HEIGHT - 8}" class="axis">{first:%Y-%m-%d %H:%M}</text>')
        out.append(
            f'<text x="{X1}" y="{HEIGHT - 8}" class="axis" text-anchor="end">{last:%Y-%m-%d %H:%M}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


_CSS = f"""
body {{ font-family: {FONT}; color: #343a40; margin: 24px auto; max-width: 980px; }}
h1 {{ font-size: 22px; margin-bottom: 4px; }}
p.meta {{ color: #868e96; margin-top: 0; }}
svg {{ width: 100%; height: auto; display: block; margin: 12px 0 20px; }}
.title {{ font: 600 14px {FONT}; fill: #343a40; }}
.axis {{ font: 11px {FONT}; fill: #868e96; }}
.note {{ font: 11px {FONT}; fill: #495057; }}
.grid {{ stroke: #f1f3f5; }}
.axisline {{ stroke: #adb5bd; }}
.band {{ fill: #4c6ef5; fill-opacity: 0.12; }}
.median {{ stroke: #4c6ef5; stroke-width: 1; }}
.objective {{ stroke: #e03131; stroke-width: 1.5; stroke-dasharray: 6 4; }}
.line {{ fill: none; stroke: #adb5bd; stroke-width: 1; }}
circle.newest {{ stroke: #212529; stroke-width: 2; }}
.legend span {{ display: inline-block; margin-right: 16px; font-size: 13px; }}
.legend i {{ display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 4px; }}
"""


def trend_html(trend: Trend, coverage: Coverage | None = None) -> str:
    """The whole page; with `coverage`, the runbook steps this drill exercises and none does."""
    legend = "".join(
        f'<span><i style="background:{fill}"></i>{verdict.value}</span>'
        for verdict, fill in VERDICT_FILL.items()
    )
    charts = "\n".join(_chart(trend, series) for series in SERIES)
    title = escape(f"{trend.scenario} on {trend.target_kind}")
    covered = "" if coverage is None else coverage_section(coverage, trend.scenario)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>drills trend: {title}</title>
<style>{_CSS}{COVERAGE_CSS if coverage is not None else ""}</style>
</head>
<body>
<h1>Trend: {title}</h1>
<p class="meta">last {len(trend.runs)} run(s); baseline: {escape(trend.baseline_note)}.
The newest invocation is ringed; invalid and aborted runs (they prove nothing) are crosses on
the axis.</p>
<p class="legend">{legend}<span>shaded: baseline range, line: its median; dashed: objective</span></p>
{charts}
{covered}
</body>
</html>
"""
