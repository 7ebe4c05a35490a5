"""`report.html`: one self-contained page that opens offline and prints well.

Everything is inline: the CSS (`templates/report.css`, included by the template), the icons (inline
SVG from `drills.reports.icons`, never emoji) and the timeline chart (inline SVG from `drills.reports.chart`). There is no script, no web font and no external
reference, so the file can be mailed, archived as a CI artifact and opened years later. Jinja2
autoescapes every value; only the chart, which escapes its own texts, is marked safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from drills.models import CanaryLog, DrillResult, Sample
from drills.reports.chart import LEGEND, timeline_svg
from drills.reports.icons import icon, replace_emoji
from drills.reports.incident import build_incident_texts
from drills.reports.view import build_view

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["icon"] = icon
    env.filters["without_emoji"] = replace_emoji
    return env


class HtmlRenderer:
    """Renders `report.html`."""

    filename: str = "report.html"

    def render(
        self, result: DrillResult, samples: Sequence[Sample], canary: CanaryLog | None = None
    ) -> str:
        template = _environment().get_template("report.html.j2")
        return template.render(
            view=build_view(result),
            incident=build_incident_texts(result, samples),
            chart=Markup(timeline_svg(result, samples, canary)),  # the chart escapes its own texts
            legend=LEGEND,
        )
