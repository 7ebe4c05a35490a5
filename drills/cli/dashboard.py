"""`drills dashboard --emit grafana`: a dashboard over the series drills exports, as JSON."""

from __future__ import annotations

import json
from enum import StrEnum

import click

from drills.dashboard import grafana_dashboard


class DashboardFormat(StrEnum):
    """Dashboard tools `drills dashboard` can write for."""

    GRAFANA = "grafana"


@click.command("dashboard")
@click.option(
    "--emit",
    type=click.Choice([f.value for f in DashboardFormat]),
    required=True,
    help="grafana: a dashboard model to import or provision (Prometheus data source).",
)
def dashboard_command(emit: str) -> None:
    """Print a dashboard over drills_rto_seconds, drills_rpo_seconds, drills_verdict, ... ."""
    if DashboardFormat(emit) is DashboardFormat.GRAFANA:
        click.echo(json.dumps(grafana_dashboard(), indent=2))
