"""`drills train ...`: SRE game days - a fault without recovery, a person with the runbook, a score.

The facilitator runs `drills train start` (it stays in the foreground until the incident is
resolved, stopped, or the time limit passes); the trainee works in another terminal with
`drills train shell` and `drills train ack|note|hint|resolve|status`.

Exit codes of `drills train start`: 0 the trainee recovered within the objectives; 1 not recovered
within the time limit, or an objective missed; 2 bad input (one line); 3 refused as unsafe, stopped
by the facilitator, or interrupted (the rollbacks ran in every case).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

import click
import psutil
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from drills.errors import InputError
from drills.settings import Settings
from drills.training.exercise import (
    EventKind,
    Exercise,
    ExerciseInfo,
    ExerciseState,
    TraineeEvent,
    current_exercise,
    now_utc,
)

__all__ = ["parse_duration", "train"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
MAX_TIME_LIMIT_SECONDS = 8 * 3600.0
STOP_WAIT_SECONDS = 600.0

exercise_option = click.option(
    "--exercise",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The exercise folder (default: the one running now).",
)


def parse_duration(text: str) -> float:
    """`90`, `90s`, `20m`, `1h` as seconds; InputError for anything else."""
    found = _DURATION.match(text)
    if found is None:
        raise InputError(f"--time-limit {text!r}: write a duration like 90s, 20m or 1h")
    seconds = float(found.group(1)) * _UNIT[found.group(2)]
    if not 0 < seconds <= MAX_TIME_LIMIT_SECONDS:
        raise InputError(f"--time-limit {text!r}: must be more than 0 and at most 8h")
    return seconds


def _exercise(given: Path | None) -> Exercise:
    return current_exercise(Settings.from_environ().home, given)


def _since_fault(info: ExerciseInfo) -> str:
    from datetime import datetime, timedelta

    if info.deadline_utc is None:
        return "fault not injected yet"
    started = datetime.fromisoformat(info.deadline_utc) - timedelta(seconds=info.time_limit_seconds)
    return f"+{(now_utc() - started).total_seconds():.1f} s since the page"


@click.group("train")
def train() -> None:
    """SRE game days: inject a fault, let a person recover it by the runbook, score them."""


@train.command("start")
@click.argument("scenario", required=False)
@click.option("--random", "at_random", is_flag=True, help="Pick a trainable scenario at random.")
@click.option("--hide", is_flag=True, help="Tell the trainee only what the pager would say.")
@click.option(
    "--target",
    default="sandbox",
    show_default=True,
    help="`sandbox` (a fresh one), `sandbox:DIR`, or a profile YAML file.",
)
@click.option(
    "--time-limit",
    default="20m",
    show_default=True,
    help="When the exercise ends if not resolved (90s, 20m, 1h).",
)
@click.option(
    "--runbook",
    "runbook_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The runbook (default: the one shipped with drills).",
)
@click.option("--allow-production", is_flag=True, help="Allow a production-looking profile.")
def start_command(
    scenario: str | None,
    at_random: bool,
    hide: bool,
    target: str,
    time_limit: str,
    runbook_path: Path | None,
    allow_production: bool,
) -> None:
    """Start a game day on SCENARIO (or --random) and wait until it ends.

    Exit codes: 0 recovered within the objectives, 1 not recovered in time or an objective
    missed, 2 bad input, 3 refused, stopped or interrupted.
    """
    from drills.training.game import Game, TrainRequest
    from drills.training.scenarios import DEFAULT_RUNBOOK

    if (scenario is None) == (not at_random):
        raise InputError("give a SCENARIO or --random (not both)")
    request = TrainRequest(
        scenario=scenario,
        hidden=hide,
        target=target,
        time_limit_seconds=parse_duration(time_limit),
        runbook=runbook_path or DEFAULT_RUNBOOK,
        allow_production=allow_production,
    )
    settings = Settings.from_environ()
    outcome = Game(settings).start(request)
    console = Console(stderr=True)
    console.print(outcome.message, highlight=False)
    if outcome.run_dir is not None and outcome.scorecard is not None:
        console.print(f"Scorecard: {outcome.run_dir / 'scorecard.md'}", highlight=False)
    sys.exit(int(outcome.exit_code))


@train.command("shell")
@exercise_option
@click.option("-c", "command", default=None, help="Run one command in the shell and exit.")
def shell_command(exercise: Path | None, command: str | None) -> None:
    """A shell where the runbook's commands (kubectl, curl, ./scripts/dr/*) act on the target."""
    from drills.training.shell import open_shell

    found = _exercise(exercise)
    info = found.info()
    if command is None:
        click.echo(f"Game day {info.run_id}. The pager says:\n{info.pager}\n", err=True)
        click.echo(
            "`drills train ack|note|hint|resolve|status` work here. exit to leave.", err=True
        )
    sys.exit(open_shell(found, command))


@train.command("ack")
@exercise_option
def ack_command(exercise: Path | None) -> None:
    """Acknowledge the incident (the time to acknowledge is scored)."""
    found = _exercise(exercise)
    found.append(TraineeEvent(EventKind.ACK, now_utc()))
    click.echo(f"acknowledged ({_since_fault(found.info())})")


@train.command("note")
@exercise_option
@click.argument("text")
def note_command(exercise: Path | None, text: str) -> None:
    """Put a note on the exercise's timeline."""
    found = _exercise(exercise)
    found.append(TraineeEvent(EventKind.NOTE, now_utc(), text))
    click.echo("noted")


@train.command("hint")
@exercise_option
def hint_command(exercise: Path | None) -> None:
    """The next runbook step for this scenario (hints are counted on the scorecard)."""
    from drills.runbook import read_runbook
    from drills.training.hints import describe, next_step
    from drills.training.scenarios import TRAINABLE
    from drills.training.score import sandbox_applicable

    found = _exercise(exercise)
    info = found.info()
    section = read_runbook(Path(info.extra["runbook"])).scenario(
        TRAINABLE[info.scenario].runbook_scenario
    )
    step = next_step(section, found.events(), sandbox_applicable if info.shimmed else bool)
    found.append(TraineeEvent(EventKind.HINT, now_utc(), "" if step is None else step.text))
    click.echo("every step of the runbook section was taken" if step is None else describe(step))


@train.command("resolve")
@exercise_option
def resolve_command(exercise: Path | None) -> None:
    """Declare the incident resolved; accepted only when the steady state really holds.

    Exit 0 accepted, 1 refused (what still fails is listed).
    """
    from drills.catalog import resolve
    from drills.experiment import load_for_run
    from drills.training.checks import failing_checks
    from drills.training.scenarios import TRAINABLE

    found = _exercise(exercise)
    info = found.info()
    if info.state is not ExerciseState.RUNNING:
        raise InputError(f"the exercise is {info.state.value}, not running")
    experiment = load_for_run(resolve(info.scenario).path)
    failing = failing_checks(experiment, info.target_key, TRAINABLE[info.scenario].data_fault)
    found.append(TraineeEvent(EventKind.RESOLVE, now_utc(), "; ".join(failing), ok=not failing))
    if failing:
        click.echo("not resolved yet - still failing:\n" + "\n".join(f"  {f}" for f in failing))
        sys.exit(1)
    click.echo("resolved: the steady state holds. The facilitator's terminal shows the score.")


def _dashboard(info: ExerciseInfo, status: dict[str, Any] | None) -> Group:
    from drills.probes.http import circuit_breaker_states, resilience_metrics

    config = {"drills_target": info.target_key}
    table = Table(box=None, pad_edge=False, show_header=False)
    for signal, ok in sorted(((status or {}).get("signals") or {}).items()):
        table.add_row(signal, Text("OK", "green") if ok else Text("FAILING", "bold red"))
    try:
        breakers = circuit_breaker_states(configuration=config)
    except Exception as exc:  # the service being down is what the dashboard must show
        breakers = {"(unreachable)": str(exc).splitlines()[0][:60]}
    for name, state in sorted(breakers.items()):
        style = "green" if str(state).upper() == "CLOSED" else "bold red"
        table.add_row(f"breaker {name}", Text(str(state), style))
    try:
        metrics = resilience_metrics(configuration=config)
        errors = (metrics.get("resilience") or metrics).get("error_rate")
    except Exception:  # down: no metrics to show
        errors = None
    table.add_row("error rate", "unknown" if errors is None else f"{float(errors):.1%}")
    canary = (status or {}).get("canary") or {}
    table.add_row(
        "canary writes", f"{canary.get('acked', 0)} acked, {canary.get('failed', 0)} failed"
    )
    head = Text(f"{info.pager}\n{_since_fault(info)} - exercise {info.state.value}\n")
    return Group(head, table)


@train.command("status")
@exercise_option
@click.option("--once", is_flag=True, help="Print once instead of refreshing.")
def status_command(exercise: Path | None, once: bool) -> None:
    """What an on-call dashboard shows, refreshed every second (Ctrl-C to leave)."""
    found = _exercise(exercise)
    console = Console()
    if once:
        console.print(_dashboard(found.info(), found.status()))
        return
    with Live(console=console, refresh_per_second=2) as live:
        while True:
            info = found.info()
            live.update(_dashboard(info, found.status()))
            if info.state is ExerciseState.ENDED:
                return
            time.sleep(1.0)


@train.command("stop")
@exercise_option
def stop_command(exercise: Path | None) -> None:
    """(Facilitator) End the exercise now; the rollbacks restore whatever is still broken."""
    found = _exercise(exercise)
    found.append(TraineeEvent(EventKind.STOP, now_utc()))
    click.echo("stopping: the rollbacks run, then the scorecard is written ...", err=True)
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while time.monotonic() < deadline:
        info = found.info()
        if info.state is ExerciseState.ENDED:
            click.echo(f"stopped. Scorecard: {info.scorecard or 'not written'}")
            return
        if not psutil.pid_exists(info.pid):
            raise InputError(
                f"the game (pid {info.pid}) is not running; its sandbox was torn down with it"
            )
        time.sleep(0.5)
    raise InputError(f"the exercise did not end within {STOP_WAIT_SECONDS:.0f} s")
