"""The `drills` command group and its one error boundary.

Only here do errors become exit codes: 0 met, 1 missed, 2 usage or input error, 3 aborted, refused
as unsafe, or invalid, 4 an unexpected exception (its traceback in a log file). Every error is one
line on stderr.
"""

from __future__ import annotations

import logging
import sys

import click
from rich.console import Console
from rich.table import Table

from drills import __version__
from drills.catalog import installed, resolve
from drills.cli.alerts import alerts_command
from drills.cli.baseline import baseline
from drills.cli.ci import ci_command
from drills.cli.crash import install_thread_hook, report_crash
from drills.cli.dashboard import dashboard_command
from drills.cli.due import due_command
from drills.cli.gate import gate_command
from drills.cli.history import history
from drills.cli.run import run
from drills.cli.runbook import runbook
from drills.cli.sandbox import sandbox
from drills.cli.schedule import schedule
from drills.cli.train import train
from drills.cli.trend import trend_command
from drills.errors import EXIT_CODES_HELP, DrillError, ExitCode


@click.group(
    help=f"Chaos and disaster-recovery drills that measure RTO and RPO.\n\n{EXIT_CODES_HELP}"
)
@click.version_option(__version__, prog_name="drills")
def cli() -> None:
    pass


@cli.command("list")
@click.option("--long", "long_", is_flag=True, help="Also say what each drill does.")
def list_scenarios(long_: bool) -> None:
    """List the scenarios `drills run` knows, with their cadence."""
    catalog = installed()
    table = Table(box=None, pad_edge=False)
    table.add_column("scenario", style="bold", no_wrap=True)
    table.add_column("cadence", no_wrap=True)
    table.add_column("drill")
    for scenario in catalog:
        text = f"{scenario.title}\n[dim]{scenario.description}[/]" if long_ else scenario.title
        table.add_row(scenario.name, ", ".join(scenario.cadence) or "-", text)
        if long_:
            table.add_row("", "", "")
    Console().print(table)


@cli.command("path")
@click.argument("scenario")
def scenario_path(scenario: str) -> None:
    """Print the experiment file of SCENARIO, for plain `chaos run "$(drills path SCENARIO)"`."""
    click.echo(str(resolve(scenario).path))


cli.add_command(run)
cli.add_command(sandbox)
cli.add_command(schedule)
cli.add_command(history)
cli.add_command(due_command)
cli.add_command(dashboard_command)
cli.add_command(runbook)
cli.add_command(gate_command)
cli.add_command(baseline)
cli.add_command(ci_command)
cli.add_command(trend_command)
cli.add_command(train)
cli.add_command(alerts_command)


def _usage_line(exc: click.ClickException) -> str:
    """Click's error as one line, naming the help to read (not click's usage block)."""
    line = " ".join(exc.format_message().split())
    context = getattr(exc, "ctx", None)
    if isinstance(context, click.Context):
        line += f" (see `{context.command_path} --help`)"
    return line


def main(argv: list[str] | None = None) -> None:
    install_thread_hook()
    logging.raiseExceptions = False  # a log file on a full disk must not print tracebacks
    try:
        cli.main(args=argv, prog_name="drills", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("drills: interrupted", err=True)
        sys.exit(ExitCode.ABORTED)
    except click.exceptions.NoArgsIsHelpError as exc:  # a bare group: its help is the answer
        exc.show()
        sys.exit(ExitCode.USAGE)
    except click.ClickException as exc:
        click.echo(f"drills: error: {_usage_line(exc)}", err=True)
        sys.exit(ExitCode.USAGE)
    except DrillError as exc:
        click.echo(f"drills: error: {' '.join(str(exc).split())}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("drills: interrupted", err=True)
        sys.exit(ExitCode.ABORTED)
    except Exception as exc:  # the last boundary: one line, the traceback in a log, exit 4
        report_crash(exc)
        sys.exit(ExitCode.INTERNAL)
