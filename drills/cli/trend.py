"""`drills trend SCENARIO`: a scenario's recent runs as text, or as a self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from drills.cli.gate import scenario_keys
from drills.history import History
from drills.reports.base import write_atomic
from drills.reports.trend import trend_html, trend_text
from drills.settings import Settings
from drills.trend import build_trend


@click.command("trend")
@click.argument("scenario")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the trend page (RTO, TTD, RPO charts, runbook coverage) to this file.",
)
@click.option(
    "--runbook",
    "runbook_path",
    type=click.Path(path_type=Path),
    help="The runbook the page's coverage section reads (default: the runbook drills ships).",
)
def trend_command(
    scenario: str, limit: int, html_path: Path | None, runbook_path: Path | None
) -> None:
    """Show SCENARIO's runs over time with its objectives and current baseline."""
    from drills.runbook import read_runbook
    from drills.runbook.coverage import coverage
    from drills.training.scenarios import DEFAULT_RUNBOOK

    # read first: a bad runbook is one line and exit 2 before anything is printed
    book = None if html_path is None else read_runbook(runbook_path or DEFAULT_RUNBOOK)
    with History.existing(Settings.from_environ().history_location) as history:
        (key,) = scenario_keys(history, [scenario])
        trend = build_trend(history, key, limit)
    click.echo(trend_text(trend), nl=False)
    if html_path is not None:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(html_path, trend_html(trend, None if book is None else coverage(book)))
        click.echo(f"trend page: {html_path}", err=True)
