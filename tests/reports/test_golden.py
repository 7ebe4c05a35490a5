"""Golden-file tests: report.md and report.html of each fixture run, byte for byte.

The expected files live in `tests/reports/golden/<run>.md` and `<run>.html`. After an intended
change to a template or a renderer, regenerate them and review the diff like code:

    DRILLS_UPDATE_GOLDEN=1 .venv/bin/pytest tests/reports/test_golden.py

(This test module is the one place outside the settings object that reads an environment
variable: it is a developer switch for the tests, not a setting of drills.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drills.reports.html import HtmlRenderer
from drills.reports.markdown import MarkdownRenderer
from tests.reports.runs import Run

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("DRILLS_UPDATE_GOLDEN") == "1"


def _check(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual, encoding="utf-8", newline="\n")
    assert path.exists(), f"{path.name} is missing: run with DRILLS_UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"{path.name} differs from the golden file; if the change is intended, regenerate with"
        " DRILLS_UPDATE_GOLDEN=1 and review the diff"
    )


def test_markdown_matches_golden(run: Run) -> None:
    _check(
        GOLDEN / f"{run.name}.md", MarkdownRenderer().render(run.result, run.samples, run.canary)
    )


def test_html_matches_golden(run: Run) -> None:
    _check(GOLDEN / f"{run.name}.html", HtmlRenderer().render(run.result, run.samples, run.canary))


@pytest.mark.parametrize("renderer", [MarkdownRenderer(), HtmlRenderer()], ids=["md", "html"])
def test_rendering_is_deterministic(run: Run, renderer: MarkdownRenderer | HtmlRenderer) -> None:
    first = renderer.render(run.result, run.samples, run.canary)
    again = renderer.render(run.result, list(run.samples), run.canary)
    assert first == again
