"""`drills alerts`: the runbook's alert rules for Prometheus, checked, and a monitoring's state.

`--emit prometheus` prints the rules file (for `rule_files:`), `--emit prometheus-rule` the same
rules as a PrometheusRule for the Prometheus Operator. Every emitted or checked file must have a
rule for each runbook condition and pass `promtool check rules` (when promtool is installed);
`--prometheus`/`--alertmanager` check that those servers answer and list what fires. Bad input -
a file that does not parse, a condition without a rule, a URL that does not answer - is one line
on stderr and exit 2.
"""

from __future__ import annotations

from pathlib import Path

import click

from drills.monitoring.api import AlertmanagerAPI, PrometheusAPI
from drills.monitoring.conditions import Condition
from drills.monitoring.rules import EmitFormat, check_with_promtool, emit, load_rules, promtool

__all__ = ["alerts_command"]


@click.command("alerts")
@click.option(
    "--emit",
    "fmt",
    type=click.Choice([f.value for f in EmitFormat]),
    default=None,
    help="Print the rules: a plain rules file, or a PrometheusRule (Prometheus Operator).",
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="A rules file of your own instead of the shipped one.",
)
@click.option("--prometheus", default=None, help="A Prometheus URL to check (lists what fires).")
@click.option("--alertmanager", default=None, help="An Alertmanager URL to check (API v2).")
def alerts_command(
    fmt: str | None, rules_path: Path | None, prometheus: str | None, alertmanager: str | None
) -> None:
    """The runbook's alert conditions as Prometheus rules: print them, or check them."""
    ruleset = load_rules(rules_path)
    for condition in Condition:
        ruleset.rule_for(condition)
    if promtool() is not None:
        check_with_promtool(ruleset.document, f"rules file {ruleset.source}")
    if fmt is not None:
        click.echo(emit(ruleset, EmitFormat(fmt)), nl=False)
        return
    checked = "checked by promtool" if promtool() else "promtool not installed: not checked"
    click.echo(f"{ruleset.source}: {len(ruleset.rules)} runbook conditions covered ({checked})")
    for condition, rule in ruleset.rules.items():
        click.echo(f"  {condition.value:<30} {rule.name} (for {rule.for_seconds:g} s)")
    if prometheus:
        api = PrometheusAPI(prometheus)
        try:
            firing = sorted({a.name for a in api.alerts() if a.state == "firing"})
        finally:
            api.close()
        click.echo(f"Prometheus {prometheus}: firing: {', '.join(firing) or 'nothing'}")
    if alertmanager:
        am = AlertmanagerAPI(alertmanager)
        try:
            held = sorted({str(a.get("labels", {}).get("alertname")) for a in am.alerts()})
        finally:
            am.close()
        click.echo(f"Alertmanager {alertmanager}: active: {', '.join(held) or 'nothing'}")
