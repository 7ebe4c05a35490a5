"""`drills runbook`: read the DR runbook itself — check it against a target, map drills to it,
draft a drill from it.

Exit codes: `check` exits 1 when it finds drift and 0 otherwise; bad input (not a Markdown
runbook, no scenarios, an unknown scenario) is one line on stderr and exit 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from drills.errors import InputError
from drills.runbook import read_runbook
from drills.runbook.findings import CheckReport, Status

__all__ = ["runbook"]

STYLE = {Status.OK: "green", Status.DRIFT: "bold red", Status.CANNOT_CHECK: "yellow"}
# The reader judges the path (a directory, a missing file): one line, exit 2, not click's usage.
RUNBOOK_ARG = click.argument("runbook_path", metavar="RUNBOOK.md", type=click.Path(path_type=Path))


def _console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=200)


@click.group("runbook")
def runbook() -> None:
    """Keep the runbook and the drills honest with each other."""


@runbook.command("check")
@RUNBOOK_ARG
@click.option(
    "--target",
    "target_spec",
    default="sandbox",
    show_default=True,
    help="'sandbox' (a fresh one), 'sandbox:DIR' (a running one) or a profile file.",
)
@click.option(
    "--scripts-dir",
    type=click.Path(path_type=Path),
    help="Where the runbook's relative paths start (./scripts/dr/x.sh is DIR/scripts/dr/x.sh).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of the table.")
@click.option("--allow-production", is_flag=True, help="Read a production-looking profile too.")
def check_command(
    runbook_path: Path,
    target_spec: str,
    scripts_dir: Path | None,
    as_json: bool,
    allow_production: bool,
) -> None:
    """Check every step and objective of RUNBOOK.md against a target, read-only.

    Kubernetes objects, namespaces and selectors are read (GET/LIST only), URLs are asked with
    GET (writes only for their route, never sent), breakers and scripts looked up, objectives
    compared. Exit 1 when anything drifted, 0 otherwise.
    """
    from drills.runbook.check import check_runbook, open_check_target

    book = read_runbook(runbook_path)
    if scripts_dir is not None and not scripts_dir.is_dir():
        raise InputError(f"--scripts-dir {scripts_dir}: not a directory")
    progress = Console(stderr=True)
    with open_check_target(
        target_spec,
        book,
        allow_production=allow_production,
        say=lambda line: progress.print(line, highlight=False),
    ) as target:
        report = check_runbook(book, target, scripts_dir=scripts_dir)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        _print_check(report)
    if report.drift:
        sys.exit(1)


def _print_check(report: CheckReport) -> None:
    table = Table(box=None, pad_edge=False, title=f"{report.runbook} against {report.target}")
    for column in ("line", "step", "result", "detail"):
        table.add_column(column, overflow="fold")
    for row in report.findings:
        table.add_row(
            str(row.line),
            escape(row.subject),
            f"[{STYLE[row.status]}]{row.status.value}[/]",
            escape(row.detail),
        )
    console = _console()
    console.print(table)
    counts = report.counts()
    console.print(", ".join(f"{n} {status}" for status, n in counts.items()))


@runbook.command("coverage")
@RUNBOOK_ARG
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of text.")
def coverage_command(runbook_path: Path, as_json: bool) -> None:
    """Which runbook steps each experiment in experiments/ exercises, and which none does."""
    from drills.runbook.coverage import coverage

    report = coverage(read_runbook(runbook_path))
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
        return
    exercised = report.total - len(report.never)
    click.echo(f"{report.runbook}: {exercised} of {report.total} steps exercised by a drill")
    for experiment in report.experiments:
        tags = ", ".join(experiment.runbook_tags) or "no runbook tag"
        click.echo(f"\n{experiment.name} ({tags}): {len(experiment.steps)} steps")
        for step in experiment.steps:
            click.echo(f"  {step.origin.line:>4}  {step.subject()}")
    click.echo(f"\nnever exercised by any drill ({len(report.never)}):")
    for step in report.never:
        where = step.origin.scenario or step.origin.section
        click.echo(f"  {step.origin.line:>4}  {step.subject()}  [{where}]")


@runbook.command("scaffold")
@RUNBOOK_ARG
@click.option(
    "--scenario",
    "scenario_name",
    required=True,
    help='The runbook section to draft: "Scenario 2", "2" or its title.',
)
def scaffold_command(runbook_path: Path, scenario_name: str) -> None:
    """Draft an experiment for one runbook scenario, on stdout (TODO- marks placeholders)."""
    from drills.runbook.scaffold import scaffold_yaml

    click.echo(scaffold_yaml(read_runbook(runbook_path), scenario_name), nl=False)
