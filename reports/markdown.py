"""`report.md`: the drill report people read in a merge request, a wiki or a terminal.

Layout only: the rows come formatted from `drills.reports.view` and the communication texts from
`drills.reports.incident`; the Jinja2 template beside this module arranges them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import jinja2

from drills.models import CanaryLog, DrillResult, Sample
from drills.reports.incident import build_incident_texts
from drills.reports.view import build_view

TEMPLATES = Path(__file__).parent / "templates"


def md_cell(value: object) -> str:
    """Text safe inside a Markdown table cell: pipes escaped, line breaks flattened."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(text.splitlines())


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,  # Markdown, not HTML; table cells go through the `cell` filter
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = md_cell
    return env


class MarkdownRenderer:
    """Renders `report.md`."""

    filename: str = "report.md"

    def render(
        self, result: DrillResult, samples: Sequence[Sample], canary: CanaryLog | None = None
    ) -> str:
        template = _environment().get_template("report.md.j2")
        return template.render(
            view=build_view(result), incident=build_incident_texts(result, samples)
        )
