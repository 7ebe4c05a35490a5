"""`drills run`: run one measured drill and print its verdict."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from pathlib import Path
from statistics import median

import click
from rich.console import Console
from rich.table import Table

from drills.catalog import suite as suite_scenarios
from drills.chaosrun import HYPOTHESIS_STRATEGIES, ROLLBACK_STRATEGIES, ChaosOptions
from drills.cli.exports import export_metrics, gateway_option, run_summary, suite_summary
from drills.errors import EXIT_CODES_HELP, ExitCode
from drills.lifecycle import new_run_id
from drills.models import Verdict
from drills.numbers import fmt_count, fmt_value
from drills.runfolder import prepare_run_folder
from drills.runner import Runner, RunOutcome, RunRequest
from drills.settings import Settings
from drills.suite import SuiteOutcome, cannot_run, run_suite

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
        return fmt_count(value)
    return fmt_value(value, unit)


def _objective_value(value: float | None, unit: str) -> str:
    return "n/a" if value is None else fmt_value(value, unit)


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
    if conclusion.unrecorded:  # the last line on stderr: why this run exits 2
        click.echo(
            f"drills: {label} {result.drill.scenario}: {result.verdict_reason}; but "
            f"{conclusion.unrecorded}",
            err=True,
        )


def print_suite(done: SuiteOutcome, console: Console) -> None:
    label, style = VERDICT_STYLE[done.verdict]
    console.print(f"\n[{style}]{label}[/] suite {done.name} ({done.wall_seconds:.0f} s)")
    for entry in done.entries:
        item_label, item_style = (
            ("LEFT OUT", "dim") if entry.left_out else VERDICT_STYLE[entry.verdict]
        )
        rto = entry.result.measurements.rto_seconds if entry.result else None
        console.print(
            f"  [{item_style}]{item_label:<8}[/] {entry.scenario:<30} RTO {_fmt(rto)}",
            highlight=False,
        )
    console.print(f"\nSummary in {done.out_dir / 'suite.md'}", highlight=False)


def print_distribution(outcomes: list[RunOutcome], console: Console) -> None:
    """The runs of one `--repeat` invocation side by side, with median and range per metric."""
    results = [o.conclusion.result for o in outcomes if o.conclusion is not None]
    console.print(f"\n[bold]{len(outcomes)} runs[/] of one invocation", highlight=False)
    table = Table(box=None, pad_edge=False)
    for column in ("run", "verdict", "TTD", "RTO", "downtime", "RPO", "lost"):
        table.add_column(column, justify="left" if column in ("run", "verdict") else "right")
    for r in results:
        m = r.measurements
        label, style = VERDICT_STYLE[r.verdict]
        table.add_row(
            r.run_id,
            f"[{style}]{label}[/]",
            _fmt(m.time_to_detect_seconds),
            _fmt(m.rto_seconds),
            _fmt(m.downtime_seconds),
            _fmt(m.rpo_seconds),
            _fmt(m.writes_lost, ""),
        )
    for name, pick in (("median", median), ("min", min), ("max", max)):
        cells = []
        for field in ("time_to_detect_seconds", "rto_seconds", "downtime_seconds", "rpo_seconds"):
            values = [v for r in results if (v := getattr(r.measurements, field)) is not None]
            cells.append(_fmt(pick(values)) if values else "n/a")
        lost = [
            r.measurements.writes_lost for r in results if r.measurements.writes_lost is not None
        ]
        table.add_row(f"[dim]{name}[/]", "", *cells, _fmt(pick(lost), "") if lost else "n/a")
    console.print(table)


_INVOCATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def invocation_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An invocation id a CI can make from its pipeline's id: letters, digits, `._:-`."""
    if value is not None and not _INVOCATION_ID.fullmatch(value):
        raise click.BadParameter(
            f"{value!r}: letters, digits and . _ : - only (at most 128, a letter or digit first)"
        )
    return value


def invocation_exit_code(outcomes: list[RunOutcome]) -> ExitCode:
    """The worst run decides: aborted or invalid (3) over missed (1) over met (0)."""
    codes = {o.exit_code for o in outcomes}
    for code in (ExitCode.ABORTED, ExitCode.USAGE, ExitCode.MISSED):
        if code in codes:
            return code
    return ExitCode.MET


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
    "--repeat",
    type=click.IntRange(1, 100),
    default=1,
    show_default=True,
    help="Measure N runs in one invocation (each recorded; `drills gate` judges them together).",
)
@click.option(
    "--invocation",
    metavar="ID",
    callback=invocation_option,
    help="Record the runs under this invocation id (e.g. the CI pipeline's), so `drills gate"
    " --invocation ID` judges exactly them in a history others also write (default: a new id).",
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
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON summary on stdout (progress on stderr)."
)
@click.option(
    "--metrics-textfile",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the results as Prometheus series to this node-exporter textfile (atomically).",
)
@click.option(
    "--pushgateway",
    metavar="URL",
    callback=gateway_option,
    help="Push the results to this Prometheus Pushgateway (job `drills`).",
)
def run(
    scenario: str | None,
    suite: str | None,
    target: str,
    out: Path | None,
    dry_run: bool,
    allow_production: bool,
    repeat: int,
    invocation: str | None,
    fault: str | None,
    hypothesis_strategy: str | None,
    hypothesis_frequency: float,
    fail_fast: bool,
    rollback_strategy: str | None,
    variables: tuple[str, ...],
    var_files: tuple[Path, ...],
    chaos_settings: Path | None,
    as_json: bool,
    metrics_textfile: Path | None,
    pushgateway: str | None,
) -> None:
    """Run SCENARIO (a name from `drills list` or an experiment file) and measure it."""
    if (scenario is None) == (suite is None):
        raise click.UsageError("give a SCENARIO or --suite NAME (not both)")
    if repeat > 1 and (suite is not None or dry_run):
        raise click.UsageError("--repeat measures one SCENARIO (not with --suite or --dry-run)")
    one_drill = {
        "--fault": fault is not None,
        "--hypothesis-strategy": hypothesis_strategy is not None,
        "--hypothesis-frequency": hypothesis_frequency != 1.0,
        "--fail-fast": fail_fast,
        "--rollback-strategy": rollback_strategy is not None,
        "--var": bool(variables),
        "--var-file": bool(var_files),
        "--chaos-settings": chaos_settings is not None,
    }
    given = [option for option, used in one_drill.items() if used]
    if suite is not None and given:  # a suite would run every drill without them
        raise click.UsageError(f"{', '.join(given)}: for one SCENARIO only (not with --suite)")
    console = Console(stderr=True)
    runner = Runner(Settings.from_environ(), console)
    if suite is not None:
        if dry_run:
            plans = []
            worst = 0
            for item in suite_scenarios(suite):
                cannot = cannot_run(target, item)
                if cannot:  # as the suite itself would: named, not planned
                    why = f"{item.name}: left out: " + "; ".join(cannot)
                    plans.append({"scenario": item.name, "verdict": None, "message": why})
                    if not as_json:
                        click.echo(why)
                    continue
                plan = runner.run(RunRequest(item.name, target, None, True, allow_production))
                plans.append(run_summary(plan))
                worst = max(worst, int(plan.exit_code))
                if not as_json:
                    click.echo(plan.message)
            if as_json:
                click.echo(json.dumps({"suite": suite, "dry_run": True, "plans": plans}))
            sys.exit(worst)
        runner.check_history()  # one line, not one refusal per drill of the suite
        folder = prepare_run_folder(out) if out is not None else None  # before anything starts
        try:
            done = run_suite(
                runner, suite, target=target, out=out, allow_production=allow_production
            )
        finally:
            if folder is not None:
                folder.remove_if_unused()
        finished = [e.result for e in done.entries if e.result is not None]
        export_metrics(finished, metrics_textfile, pushgateway)
        if as_json:
            click.echo(json.dumps(suite_summary(done)))
        else:
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
    request = RunRequest(scenario, target, out, dry_run, allow_production, fault, chaos, invocation)
    if repeat > 1:
        code = run_repeated(runner, request, repeat, metrics_textfile, pushgateway)
        sys.exit(int(code))
    outcome = runner.run(request)
    if outcome.conclusion is not None:
        export_metrics([outcome.conclusion.result], metrics_textfile, pushgateway)
    if as_json:
        click.echo(json.dumps(run_summary(outcome)))
    elif dry_run:
        click.echo(outcome.message)
    else:
        print_summary(outcome, Console())
    sys.exit(int(outcome.exit_code))


def run_repeated(
    runner: Runner,
    base: RunRequest,
    repeat: int,
    metrics_textfile: Path | None = None,
    pushgateway: str | None = None,
) -> ExitCode:
    """`--repeat N`: N runs sharing one invocation id, each in its own run folder (below `out`
    when given); an interrupted run (also before its fault) ends the series, the runs so far
    are kept."""
    runner.check_history()  # before "Run 1/N": a history it cannot use is one line
    invocation = base.invocation or new_run_id("invocation")
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # piped (a CI log): whole run ids, one run per line
    outcomes: list[RunOutcome] = []
    for index in range(1, repeat + 1):
        runner.say(f"\n[bold]Run {index}/{repeat}[/] (invocation {invocation})")
        run_out = None if base.out is None else base.out / f"run-{index}"
        outcome = runner.run(replace(base, out=run_out, invocation=invocation))
        outcomes.append(outcome)
        print_summary(outcome, console)
        if outcome.interrupted or outcome.conclusion is None:  # Ctrl-C/SIGTERM, even pre-fault
            runner.say("interrupted: no further runs")
            break
    print_distribution(outcomes, console)
    finished = [o.conclusion.result for o in outcomes if o.conclusion is not None]
    export_metrics(finished, metrics_textfile, pushgateway)
    return invocation_exit_code(outcomes)
