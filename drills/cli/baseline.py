"""`drills baseline pin|reset`: a person's accepted change to what the gate compares against.

A pin makes chosen met runs the baseline of their scenario; a reset starts the baseline afresh
with the runs after it (e.g. after a deliberate design change that made recovery slower). Either
needs a reason, and every later `drills gate` shows it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from drills.cli.gate import scenario_keys
from drills.errors import InputError
from drills.history import History
from drills.models import Verdict
from drills.settings import Settings


def _reason(reason: str) -> str:
    if not reason.strip():
        raise InputError("--reason must say why (it is shown in every later gate)")
    return " ".join(reason.split())


def _history() -> History:
    return History.existing(Settings.from_environ().history_location)


@click.group()
def baseline() -> None:
    """Pin or reset the baseline `drills gate` compares a scenario against."""


@baseline.command("pin")
@click.argument("run_ids", nargs=-1, required=True)
@click.option("--reason", required=True, help="Why these runs are the baseline now.")
def pin(run_ids: tuple[str, ...], reason: str) -> None:
    """Make RUN_IDS (met runs of one scenario) the baseline of their scenario."""
    why = _reason(reason)
    with _history() as history:
        runs = history.runs_by_id(list(dict.fromkeys(run_ids)))
        missing = sorted(set(run_ids) - {r.run_id for r in runs})
        if missing:
            raise InputError(f"unknown run id(s) in history {history.where}: {', '.join(missing)}")
        scenarios = {r.scenario for r in runs}
        if len(scenarios) > 1:
            raise InputError(f"a pin is for one scenario; these runs are of {sorted(scenarios)}")
        not_met = [f"{r.run_id} ({r.verdict.value})" for r in runs if r.verdict is not Verdict.MET]
        if not_met:
            raise InputError(f"only met runs can be a baseline: {', '.join(not_met)}")
        mark = history.mark_baseline(
            scenarios.pop(), "pin", [r.run_id for r in runs], why, datetime.now(UTC)
        )
    click.echo(f"pinned {len(runs)} run(s) as the baseline of {mark.scenario}: {why}")


@baseline.command("reset")
@click.argument("scenario")
@click.option("--reason", required=True, help="Why earlier runs no longer count.")
def reset(scenario: str, reason: str) -> None:
    """Start SCENARIO's baseline afresh: only runs after now count."""
    why = _reason(reason)
    with _history() as history:
        (key,) = scenario_keys(history, [scenario])
        history.mark_baseline(key, "reset", [], why, datetime.now(UTC))
    click.echo(f"reset the baseline of {key}: {why}")
