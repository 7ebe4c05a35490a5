"""`drills ci --emit github|gitlab`: print a pipeline that runs drills and gates on regressions."""

from __future__ import annotations

import click

from drills.cadence import cadence_named
from drills.catalog import resolve
from drills.ci import CiSystem, workflow

DEFAULT_SCENARIO = "complete-outage"


@click.command("ci")
@click.option(
    "--emit",
    "system",
    type=click.Choice([s.value for s in CiSystem]),
    required=True,
    help="Which CI system's pipeline to print.",
)
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    help=f"A drill to run and gate (repeatable; default: {DEFAULT_SCENARIO}).",
)
@click.option(
    "--suite",
    help="Run and gate every drill of this cadence (monthly, quarterly, ...) instead.",
)
@click.option("--repeat", default=5, show_default=True, help="Runs of each drill per pipeline.")
@click.option(
    "--team-history",
    is_flag=True,
    help="Use the team history in the secret DRILLS_HISTORY instead of the CI cache.",
)
def ci_command(
    system: str, scenarios: tuple[str, ...], suite: str | None, repeat: int, team_history: bool
) -> None:
    """Print a CI pipeline (YAML) that runs SCENARIOs on the sandbox and runs `drills gate`."""
    if suite is not None:
        if scenarios:
            raise click.UsageError("give --scenario or --suite (not both)")
        scenarios = cadence_named(suite).drills  # the cadence table says which drills
    scenarios = scenarios or (DEFAULT_SCENARIO,)
    for name in scenarios:
        resolve(name)  # an unknown scenario is an error now, not in the pipeline
    click.echo(workflow(CiSystem(system), scenarios, repeat, team_history), nl=False)
