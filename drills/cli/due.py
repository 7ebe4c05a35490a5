"""`drills due`: which drills of the runbook's cadence are due or overdue."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from drills.cadence import DueState, due
from drills.catalog import installed
from drills.history import History
from drills.metrics import due_points, write_textfile
from drills.settings import Settings

STYLE = {DueState.OK: "green", DueState.DUE: "yellow", DueState.OVERDUE: "bold red"}


@click.command("due")
@click.option("--target", "target", help="Count only runs against this target name.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per drill.")
@click.option("--fail-if-overdue", is_flag=True, help="Exit 1 when any drill is overdue.")
@click.option(
    "--metrics-textfile",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write drills_overdue and due times to this node-exporter textfile (atomically).",
)
def due_command(
    target: str | None, as_json: bool, fail_if_overdue: bool, metrics_textfile: Path | None
) -> None:
    """List the cadence's drills: last run that proved something, next due date, state."""
    installed()  # an empty catalog (a wheel without its experiments) is an error, not a false green
    location = Settings.from_environ().history_location
    now = datetime.now(UTC)
    if not isinstance(location, Path) or location.exists():
        with History(location) as history:
            rows = due(history, now, target)
    else:
        rows = due(None, now, target)
    if metrics_textfile is not None:
        write_textfile(metrics_textfile, due_points(rows))
    if as_json:
        for row in rows:
            click.echo(json.dumps(row.to_json()))
    else:
        table = Table(box=None, pad_edge=False)
        for column in ("scenario", "cadence", "last run (UTC)", "due (UTC)", "state"):
            table.add_column(column)
        for row in rows:
            table.add_row(
                row.scenario,
                row.cadence,
                "never" if row.last_run is None else row.last_run.strftime("%Y-%m-%d %H:%M"),
                "now" if row.due_at is None else row.due_at.strftime("%Y-%m-%d"),
                f"[{STYLE[row.state]}]{row.state.value}[/]",
            )
        console = Console()
        if not console.is_terminal:
            console = Console(width=160)
        console.print(table)
    if fail_if_overdue and any(row.state is DueState.OVERDUE for row in rows):
        sys.exit(1)
