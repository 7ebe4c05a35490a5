"""A game day's scorecard as Markdown and as a self-contained HTML page.

Reads a finished `Scorecard` (drills.training.score) and the drill result it was built from; runs
nothing. The HTML page embeds the drill's timeline chart, on which the trainee's commands are the
method's activities, and the runbook's incident templates filled from the real timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from drills.models import CanaryLog, DrillResult, Sample
from drills.reports.chart import LEGEND, timeline_svg
from drills.reports.incident import build_incident_texts
from drills.training.score import Scorecard

__all__ = ["scorecard_html", "scorecard_markdown", "seconds"]

TEMPLATES = Path(__file__).parent / "templates"


def seconds(value: float | None, reason: str | None = None) -> str:
    if value is None:
        return f"not measured ({reason})" if reason else "not measured"
    return f"{value:.1f} s"


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "missed", None: "n/a"}[met]


@cache
def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["seconds"] = seconds
    env.filters["verdict"] = _verdict
    return env


def _rows(card: Scorecard) -> list[dict[str, Any]]:
    """The headline figures: measured, objective, automation's par."""
    par = card.par
    why = card.unmeasured
    return [
        {"name": "Time to acknowledge", "value": seconds(card.time_to_acknowledge_seconds,
                                                         None if card.time_to_acknowledge_seconds is not None else "no ack"),
         "objective": "", "par": "", "met": None},
        {"name": "Time to detect", "value": seconds(card.time_to_detect_seconds, why.get("time_to_detect_seconds")),
         "objective": "", "par": "", "met": None},
        {"name": "Time to mitigate", "value": seconds(card.time_to_mitigate_seconds, None if card.time_to_mitigate_seconds is not None else "no runbook step changed the system"),
         "objective": "", "par": "", "met": None},
        {"name": "RTO", "value": seconds(card.rto_seconds, why.get("rto_seconds")),
         "objective": f"<= {card.rto_objective_seconds:.0f} s",
         "par": seconds(par.rto_seconds) if par else "no automated run yet", "met": card.rto_met},
        {"name": "RPO", "value": seconds(card.rpo_seconds, why.get("rpo_seconds")),
         "objective": f"<= {card.rpo_objective_seconds:.0f} s",
         "par": seconds(par.rpo_seconds) if par else "no automated run yet", "met": card.rpo_met},
        {"name": "Acknowledged writes lost", "value": "not measured" if card.writes_lost is None else str(card.writes_lost),
         "objective": "", "par": "", "met": None},
    ]  # fmt: skip


def _context(card: Scorecard, result: DrillResult, samples: Sequence[Sample]) -> dict[str, Any]:
    return {
        "card": card,
        "result": result,
        "rows": _rows(card),
        "incident": build_incident_texts(result, samples),
        "recovered": "RECOVERED" if card.recovered else "NOT RECOVERED",
    }


def scorecard_markdown(card: Scorecard, result: DrillResult, samples: Sequence[Sample]) -> str:
    return (
        _environment(False).get_template("scorecard.md.j2").render(_context(card, result, samples))
    )


def scorecard_html(
    card: Scorecard,
    result: DrillResult,
    samples: Sequence[Sample],
    canary: CanaryLog | None = None,
) -> str:
    return (
        _environment(True)
        .get_template("scorecard.html.j2")
        .render(
            **_context(card, result, samples),
            css=Markup((TEMPLATES / "report.css").read_text()),  # our own stylesheet
            chart=Markup(timeline_svg(result, samples, canary)),  # the chart escapes its own texts
            legend=LEGEND,
        )
    )
