"""`drills run`: run one measured drill and print its verdict."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from drills.catalog import suite as suite_scenarios
from drills.chaosrun import HYPOTHESIS_STRATEGIES, ROLLBACK_STRATEGIES, ChaosOptions
from drills.errors import EXIT_CODES_HELP
from drills.models import Verdict
from drills.runfolder import prepare_run_folder
from drills.runner import Runner, RunOutcome, RunRequest
from drills.settings import Settings
from drills.suite import SuiteOutcome, run_suite

VERDICT_STYLE = {
    Verdict.MET: ("MET", "bold green"),
    Verdict.MISSED: ("MISSED", "bold red"),
    Verdict.INVALID: ("INVALID", "bold yellow"),
    Verdict.ABORTED: ("ABORTED", "bold magenta"),
}


def _fmt(value: float | int | None, unit: str = "s") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int) or unit == "":
        return str(value)
    return f"{value:.3f} {unit}"


def _objective_value(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "ratio":
        return f"{100 * value:.2f} %"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "count":
        return f"{value:g}"
    return f"{value:g} {unit}".strip()


def print_summary(outcome: RunOutcome, console: Console) -> None:
    conclusion = outcome.conclusion
    if conclusion is None:
        console.print(outcome.message, highlight=False)
        return
    result = conclusion.result
    m = result.measurements
    label, style = VERDICT_STYLE[result.verdict]
    headline = f"\n[{style}]{label}[/] [bold]{result.drill.scenario}[/]"
    if result.verdict is not Verdict.MET:
        headline += f": {result.verdict_reason}"
    console.print(headline, highlight=False)
    facts = Table(box=None, pad_edge=False, show_header=False)
    facts.add_column(style="dim")
    facts.add_column()
    facts.add_row("time to detect", _fmt(m.time_to_detect_seconds))
    facts.add_row("RTO", _fmt(m.rto_seconds))
    facts.add_row("downtime", _fmt(m.downtime_seconds))
    facts.add_row("RPO", _fmt(m.rpo_seconds))
    facts.add_row(
        "canary writes",
        f"{_fmt(m.writes_acknowledged, '')} acked, {_fmt(m.writes_lost, '')} lost, "
        f"{_fmt(m.writes_corrupted, '')} corrupted, {_fmt(m.writes_failed, '')} refused during the outage",
    )
    facts.add_row("resolution", _fmt(m.resolution_seconds))
    console.print(facts)
    objectives = Table(box=None, pad_edge=False)
    for column in ("objective", "measured", "threshold", "margin", ""):
        objectives.add_column(
            column, justify="right" if column in ("measured", "margin") else "left"
        )
    for objective in result.objectives:
        mark = {True: "[green]met[/]", False: "[red]missed[/]", None: "[yellow]n/a[/]"}[
            objective.met
        ]
        objectives.add_row(
            objective.name,
            _objective_value(objective.measured, objective.unit),
            f"{objective.comparison.value} {_objective_value(objective.threshold, objective.unit)}",
            _objective_value(objective.margin, objective.unit),
            mark,
        )
    console.print(objectives)
    if conclusion.unwritten:
        # stdout may be the same full disk or a pipe nobody reads: the verdict goes to stderr too
        click.echo(
            f"drills: {label} {result.drill.scenario}: {result.verdict_reason}; but "
            f"{conclusion.unwritten}",
            err=True,
        )
        return
    console.print(f"Reports in {outcome.run_dir}", highlight=False)


def print_suite(done: SuiteOutcome, console: Console) -> None:
    label, style = VERDICT_STYLE[done.verdict]
    console.print(f"\n[{style}]{label}[/] suite {done.name} ({done.wall_seconds:.0f} s)")
    for entry in done.entries:
        item_label, item_style = VERDICT_STYLE[entry.verdict]
        rto = entry.result.measurements.rto_seconds if entry.result else None
        console.print(
            f"  [{item_style}]{item_label:<8}[/] {entry.scenario:<30} RTO {_fmt(rto)}",
            highlight=False,
        )
    console.print(f"\nSummary in {done.out_dir / 'suite.md'}", highlight=False)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("scenario", required=False)
@click.option(
    "--suite",
    help="Run every drill of a cadence instead (monthly, quarterly, ...), with one summary.",
)
@click.option(
    "--target",
    "target",
    default="sandbox",
    show_default=True,
    help="sandbox (a fresh one), sandbox:DIR (a running one) or a profile file.",
)
@click.option("--out", type=click.Path(path_type=Path), help="Run folder for the reports.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option(
    "--allow-production", is_flag=True, help="Drill a production-looking target anyway (dangerous)."
)
@click.option(
    "--fault",
    metavar="ACTIVITY",
    help="The method activity that is the fault (default: those tagged `fault`, else the first"
    " activity of the method).",
)
@click.option(
    "--hypothesis-strategy",
    type=click.Choice(HYPOTHESIS_STRATEGIES),
    help="As in `chaos run`; overrides the experiment's runtime block.",
)
@click.option(
    "--hypothesis-frequency",
    type=float,
    default=1.0,
    show_default=True,
    help="As in `chaos run`: pace of the hypothesis for during-method-only and continuously.",
)
@click.option("--fail-fast", is_flag=True, help="As in `chaos run`.")
@click.option(
    "--rollback-strategy",
    type=click.Choice(ROLLBACK_STRATEGIES),
    help="As in `chaos run`, except the default: drills plays the rollbacks always, unless the"
    " experiment's runtime block or this option says otherwise.",
)
@click.option("--var", "variables", multiple=True, help="As in `chaos run`: key[:type]=value.")
@click.option(
    "--var-file",
    "var_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="As in `chaos run`.",
)
@click.option(
    "--chaos-settings",
    type=click.Path(path_type=Path),
    help="Chaos Toolkit settings file (default: ~/.chaostoolkit/settings.yaml, as `chaos run`).",
)
def run(
    scenario: str | None,
    suite: str | None,
    target: str,
    out: Path | None,
    dry_run: bool,
    allow_production: bool,
    fault: str | None,
    hypothesis_strategy: str | None,
    hypothesis_frequency: float,
    fail_fast: bool,
    rollback_strategy: str | None,
    variables: tuple[str, ...],
    var_files: tuple[Path, ...],
    chaos_settings: Path | None,
) -> None:
    """Run SCENARIO (a name from `drills list` or an experiment file) and measure it."""
    if (scenario is None) == (suite is None):
        raise click.UsageError("give a SCENARIO or --suite NAME (not both)")
    console = Console(stderr=True)
    runner = Runner(Settings.from_environ(), console)
    if suite is not None:
        if dry_run:
            worst = 0
            for item in suite_scenarios(suite):
                plan = runner.run(RunRequest(item.name, target, None, True, allow_production))
                click.echo(plan.message)
                worst = max(worst, int(plan.exit_code))
            sys.exit(worst)
        folder = prepare_run_folder(out) if out is not None else None  # before anything starts
        try:
            done = run_suite(
                runner, suite, target=target, out=out, allow_production=allow_production
            )
        finally:
            if folder is not None:
                folder.remove_if_unused()
        print_suite(done, Console())
        sys.exit(int(done.exit_code))
    assert scenario is not None
    chaos = ChaosOptions(
        hypothesis_strategy,
        hypothesis_frequency,
        fail_fast,
        rollback_strategy,
        variables,
        var_files,
        chaos_settings,
    )
    outcome = runner.run(RunRequest(scenario, target, out, dry_run, allow_production, fault, chaos))
    if dry_run:
        click.echo(outcome.message)
    else:
        print_summary(outcome, Console())
    sys.exit(int(outcome.exit_code))
