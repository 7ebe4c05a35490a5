"""`drills history`: the recorded runs, newest first, with their headline numbers; `export` and
`import` move runs (JSON lines) between histories, e.g. from a CI runner into a team history."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

import click
from rich.console import Console
from rich.table import Table

from drills.cli.gate import scenario_keys
from drills.history import History
from drills.history_transfer import export_lines, import_lines
from drills.settings import Settings

VERDICT_STYLE = {"met": "green", "missed": "red", "invalid": "yellow", "aborted": "magenta"}


@click.group(invoke_without_command=True)
@click.option("--scenario", help="Only this scenario.")
@click.option("--target", "target", help="Only this target name.")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
@click.pass_context
def history(
    ctx: click.Context, scenario: str | None, target: str | None, limit: int, as_json: bool
) -> None:
    """List recorded drills (the history lives in $DRILLS_HISTORY or $DRILLS_HOME)."""
    if ctx.invoked_subcommand is not None:
        return
    location = Settings.from_environ().history_location
    if isinstance(location, Path) and not location.exists():
        Console(stderr=True).print(f"no history yet at {location}")
        return
    with History(location) as store:
        runs = store.runs(scenario, target, limit)
    if as_json:
        for run in runs:
            row = {
                "run_id": run.run_id,
                "invocation_id": run.invocation_id,
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


@history.command("export")
@click.option("--scenario", help="Only this scenario (a name, or an experiment file).")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="File (default: stdout).",
)
def export_command(scenario: str | None, output: Path | None) -> None:
    """Write every run and baseline mark as JSON lines."""
    with History.existing(Settings.from_environ().history_location) as store:
        key = scenario_keys(store, [scenario])[0] if scenario else None
        lines = list(export_lines(store, key))
    text = "".join(line + "\n" for line in lines)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"exported {len(lines)} line(s) to {output}", err=True)


@history.command("import")
@click.argument("source", type=click.File("r", encoding="utf-8"))
def import_command(source: TextIO) -> None:
    """Add the runs and baseline marks of SOURCE (JSON lines, `-` for stdin); all or nothing."""
    with History(Settings.from_environ().history_location) as store:
        runs, marks = import_lines(store, source, source.name)
    click.echo(f"imported {runs} run(s) and {marks} baseline mark(s)", err=True)
