"""`drills history`: the recorded runs, newest first, with their headline numbers."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from drills.history import History
from drills.settings import Settings

VERDICT_STYLE = {"met": "green", "missed": "red", "invalid": "yellow", "aborted": "magenta"}


@click.command()
@click.option("--scenario", help="Only this scenario.")
@click.option("--target", "target", help="Only this target name.")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
def history(scenario: str | None, target: str | None, limit: int, as_json: bool) -> None:
    """List recorded drills (the history lives in $DRILLS_HISTORY or $DRILLS_HOME)."""
    path = Settings.from_environ().history
    if not path.exists():
        Console(stderr=True).print(f"no history yet at {path}")
        return
    with History(path) as store:
        runs = store.runs(scenario, target, limit)
    if as_json:
        for run in runs:
            row = {
                "run_id": run.run_id,
                "scenario": run.scenario,
                "target": run.target_name,
                "started_at": run.started_at.isoformat(),
                "verdict": run.verdict.value,
                "rto_seconds": run.rto_seconds,
                "rpo_seconds": run.rpo_seconds,
                "writes_lost": run.writes_lost,
                "run_dir": run.run_dir,
            }
            click.echo(json.dumps(row))
        return
    table = Table(box=None, pad_edge=False)
    for column in ("started (UTC)", "scenario", "target", "verdict", "RTO", "RPO", "lost"):
        table.add_column(column, justify="right" if column in ("RTO", "RPO", "lost") else "left")
    for run in runs:
        style = VERDICT_STYLE.get(run.verdict.value, "")
        table.add_row(
            run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            run.scenario,
            run.target_name,
            f"[{style}]{run.verdict.value}[/]",
            "n/a" if run.rto_seconds is None else f"{run.rto_seconds:.3f} s",
            "n/a" if run.rpo_seconds is None else f"{run.rpo_seconds:.3f} s",
            "n/a" if run.writes_lost is None else str(run.writes_lost),
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # piped: keep one run per line
    console.print(table)
