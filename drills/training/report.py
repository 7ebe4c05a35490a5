"""Writes a game day's scorecard beside the drill report: `scorecard.json`, `.md` and `.html`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from drills.models import CanaryLog, DrillResult, Sample
from drills.training.score import Scorecard

__all__ = ["write_scorecard"]


def write_scorecard(
    card: Scorecard,
    result: DrillResult,
    samples: Sequence[Sample],
    canary: CanaryLog | None,
    run_dir: Path,
) -> Path:
    """Write the three files; the Markdown one's path."""
    from drills.reports.scorecard import scorecard_html, scorecard_markdown

    (run_dir / "scorecard.json").write_text(json.dumps(card.to_json(), indent=2) + "\n")
    (run_dir / "scorecard.html").write_text(scorecard_html(card, result, samples, canary))
    markdown = run_dir / "scorecard.md"
    markdown.write_text(scorecard_markdown(card, result, samples))
    return markdown
