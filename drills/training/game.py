"""`drills train start`: a game day, from input checks to the scorecard.

As for a drill (`drills.runner`): refuse bad input before touching anything, then the drill's own
lifecycle (`drills.lifecycle.DrillLifecycle`): hold the target's lock, check that the target is
healthy before any fault, measure the whole exercise with the drill's session (sampler, canary,
watchers) and conclude it the same way; the trainee's actions join the timeline before the
session stops, and the scorecard reads what was measured. Unlike a drill, the experiment stops
after its fault (`drills.training.scenarios`) and waits for a person; its rollbacks run after the
trainee's accepted `resolve`, the facilitator's `stop`, the time limit or Ctrl-C, so nothing is
ever left broken. The run is recorded as a training run (scenario
`training:NAME`), which no gate or baseline of the automated drill ever reads.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from drills import control
from drills.catalog import resolve
from drills.chaosrun import ChaosOptions, chaostoolkit_log, run_like_chaos
from drills.errors import ExitCode, InputError
from drills.experiment import designate_fault, load_for_run
from drills.history import History
from drills.interrupts import deferred_interrupts, sigterm_as_interrupt
from drills.lifecycle import DrillLifecycle, new_run_id, objectives_for
from drills.models import ActivityMark, DrillRef, Stage, TargetRef
from drills.objectives import ObjectiveTargets
from drills.runbook import read_runbook
from drills.runbook.model import Scenario as RunbookScenario
from drills.runfolder import prepare_run_folder
from drills.session import MeasurementSession
from drills.settings import Settings
from drills.targets import registry
from drills.targets.registry import SpecKind, parse_spec
from drills.training.exercise import (
    EventKind,
    Exercise,
    ExerciseInfo,
    ExerciseState,
    TraineeEvent,
    clear_current,
    mark_current,
    training_root,
)
from drills.training.report import write_scorecard
from drills.training.scenarios import (
    DEFAULT_RUNBOOK,
    WAIT_ACTIVITY,
    TrainingScenario,
    exercise_experiment,
    pick,
)
from drills.training.score import PAR_RUNS, Par, Scorecard, build_scorecard, sandbox_applicable
from drills.training.shell import install_launchers

__all__ = ["DEFAULT_TIME_LIMIT_SECONDS", "TRAINING_PREFIX", "Game", "TrainOutcome", "TrainRequest"]

DEFAULT_TIME_LIMIT_SECONDS = 1200.0
TRAINING_PREFIX = "training:"  # the history's scenario key of a training run
STATUS_EVERY_SECONDS = 0.5
ERROR_RATE_WINDOW_SECONDS = 10.0  # the dashboard's error rate: canary writes failed lately


@dataclass(frozen=True)
class TrainRequest:
    scenario: str | None  # None: --random
    hidden: bool = False
    target: str = registry.FRESH_SANDBOX
    time_limit_seconds: float = DEFAULT_TIME_LIMIT_SECONDS
    runbook: Path = DEFAULT_RUNBOOK
    allow_production: bool = False


@dataclass(frozen=True)
class TrainOutcome:
    exit_code: ExitCode
    run_dir: Path | None
    scorecard: Scorecard | None
    message: str


def par_for(history_location: Path | str, scenario: str, target_kind: str) -> Par | None:
    """The automated drill's par on this kind of target, from the history (None: never met)."""
    from datetime import UTC, datetime

    try:
        with History(history_location) as history:
            runs = history.met_runs_before(scenario, target_kind, datetime.now(UTC), PAR_RUNS)
    except Exception:  # no history yet, or one we cannot read: the scorecard says "no par"
        return None
    if not runs:
        return None
    return Par.of([r.rto_seconds for r in runs], [r.rpo_seconds for r in runs])


class Game:
    """Runs one game day; the CLI makes one per `drills train start`."""

    def __init__(self, settings: Settings, console: Console | None = None) -> None:
        self.settings = settings
        self.console = console or Console(stderr=True)

    def say(self, message: str) -> None:
        self.console.print(message, highlight=False)

    def start(self, request: TrainRequest) -> TrainOutcome:
        if not request.time_limit_seconds > 0:
            raise InputError("--time-limit must be more than 0 seconds")
        chosen = pick(request.scenario)
        scenario = resolve(chosen.name)
        experiment = load_for_run(scenario.path)
        designate_fault(experiment)
        book = read_runbook(request.runbook)
        section = book.scenario(chosen.runbook_scenario)
        spec = parse_spec(request.target)
        objectives = objectives_for(spec)
        run_id = new_run_id(f"training-{chosen.name}")
        folder = prepare_run_folder(self.settings.home / "runs" / run_id, "run folder")
        exercise = Exercise(training_root(self.settings.home) / run_id)
        context = _Context(
            chosen, scenario.title, str(scenario.path), experiment, section, objectives,
            run_id, folder.path.resolve(), exercise, request,
            {"namespace": book.namespace, "service_url": book.service_url,
             "runbook": str(request.runbook)},
        )  # fmt: skip
        try:
            with sigterm_as_interrupt():
                return self._play(context, spec)
        finally:
            folder.remove_if_unused()

    def _play(self, ctx: _Context, spec: registry.TargetSpec) -> TrainOutcome:
        opened = contextlib.ExitStack()  # the target: closed (a fresh sandbox removed) at the end
        try:
            key, target = opened.enter_context(
                registry.registered_target(
                    spec, say=self.say, allow_production=ctx.request.allow_production
                )
            )
            lifecycle = DrillLifecycle(
                target,
                self.settings,
                ctx.objectives,
                run_id=ctx.run_id,
                run_dir=ctx.run_dir,
                watchdog=False,  # the exercise's time limit ends a game day
            )
            lifecycle.lock()  # the lock a drill holds: one at a time
            try:
                lifecycle.preflight()
                return self._exercise(ctx, lifecycle, key, spec)
            finally:
                lifecycle.release()
        except KeyboardInterrupt:
            return TrainOutcome(
                ExitCode.ABORTED, None, None, "interrupted before the fault; nothing injected"
            )
        finally:
            with deferred_interrupts():
                opened.close()

    def _exercise(
        self, ctx: _Context, lifecycle: DrillLifecycle, key: str, spec: registry.TargetSpec
    ) -> TrainOutcome:
        target = lifecycle.target
        ctx.exercise.path.mkdir(parents=True)
        shimmed = target.kind == "sandbox"
        install_launchers(ctx.exercise, shimmed)
        pager = ctx.chosen.alert
        if not ctx.request.hidden:
            pager += f"\nScenario: {ctx.title} (runbook {ctx.section.key}: {ctx.section.title})"
        info = ExerciseInfo(
            run_id=ctx.run_id,
            scenario=ctx.chosen.name,
            hidden=ctx.request.hidden,
            target_key=key,
            target_kind=target.kind,
            shimmed=shimmed,
            control_plane_url=target.control_plane_url,
            run_dir=str(ctx.run_dir),
            time_limit_seconds=ctx.request.time_limit_seconds,
            pager=pager,
            pid=os.getpid(),
            extra=ctx.extra,
        )
        ctx.exercise.write_info(info)
        mark_current(self.settings.home, ctx.exercise)
        try:
            return self._measure(ctx, lifecycle, key, spec, info)
        finally:
            info = ctx.exercise.info()
            info.state = ExerciseState.ENDED
            ctx.exercise.write_info(info)
            clear_current(self.settings.home, ctx.exercise)

    def _measure(
        self,
        ctx: _Context,
        lifecycle: DrillLifecycle,
        key: str,
        spec: registry.TargetSpec,
        info: ExerciseInfo,
    ) -> TrainOutcome:
        target = lifecycle.target
        session = lifecycle.start()
        game = exercise_experiment(ctx.experiment, ctx.exercise.path)
        game.setdefault("configuration", {})[registry.CONFIG_KEY] = key
        status = _StatusWriter(session, ctx.exercise)
        control.attach(session)
        status.start()
        journal: dict[str, Any] = {}
        interrupted = False
        try:
            self.say("Measuring the steady-state baseline ...")
            lifecycle.baseline()
            self.say(f"[bold]Injecting the fault. The pager says:[/]\n{info.pager}")
            self.say(
                f"Trainee: `drills train shell` (exercise {ctx.exercise.path}); "
                f"time limit {ctx.request.time_limit_seconds:.0f} s"
            )
            with chaostoolkit_log(ctx.run_dir):
                journal = run_like_chaos(game, ChaosOptions(), {registry.CONFIG_KEY: key})
        except KeyboardInterrupt:
            interrupted = True
        except BaseException:
            status.stop()
            control.detach()
            lifecycle.abandon()
            raise
        lifecycle.experiment_ended()
        control.detach()
        ended_by = _ended_by(journal, interrupted)
        with deferred_interrupts():
            current = ctx.exercise.info()
            current.state = ExerciseState.ENDING
            current.ended_reason = ended_by
            ctx.exercise.write_info(current)
            events = ctx.exercise.events()
            for mark in trainee_marks(events, session):
                session.add_activity(mark)
            self.say("Observing the aftermath, then reading the canary back ...")
            lifecycle.observe_after()  # not cut short: interrupts wait
            status.stop()
            conclusion = lifecycle.finish(
                journal,
                drill=DrillRef(f"{TRAINING_PREFIX}{ctx.chosen.name}", f"Game day: {ctx.title}",
                               ctx.path),
                target=TargetRef(
                    spec.text if spec.kind is SpecKind.FRESH_SANDBOX else target.name,
                    target.kind,
                    target.control_plane_url,
                ),
                aborted_reason=None if ended_by == "resolved" else _why(ended_by, ctx),
            )  # fmt: skip
            data = conclusion.data
            card = build_scorecard(
                conclusion.result,
                data.samples,
                events,
                data.clock.from_utc,
                ctx.section,
                scenario=ctx.chosen.name,
                hidden=ctx.request.hidden,
                ended_by=ended_by,
                applicable=sandbox_applicable if target.kind == "sandbox" else _always,
                par=par_for(self.settings.history_location, ctx.chosen.name, target.kind),
                rto_objective_seconds=ctx.objectives.rto_seconds,
                rpo_objective_seconds=ctx.objectives.rpo_seconds,
            )
            written = write_scorecard(
                card, conclusion.result, data.samples, data.canary, ctx.run_dir
            )
            current = ctx.exercise.info()
            current.scorecard = str(written)
            ctx.exercise.write_info(current)
        return TrainOutcome(exit_code_for(card), ctx.run_dir, card, headline(card))


@dataclass(frozen=True)
class _Context:
    chosen: TrainingScenario
    title: str
    path: str
    experiment: dict[str, Any]
    section: RunbookScenario
    objectives: ObjectiveTargets
    run_id: str
    run_dir: Path
    exercise: Exercise
    request: TrainRequest
    extra: dict[str, Any]


class _StatusWriter:
    """Writes what an on-call dashboard shows to the exercise's `status.json`, twice a second."""

    def __init__(self, session: MeasurementSession, exercise: Exercise) -> None:
        self._session = session
        self._exercise = exercise
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="drills-train-status", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)

    def _loop(self) -> None:
        recent: deque[tuple[float, int, int]] = deque()  # (t, acked, failed) over the window
        while not self._stop.wait(STATUS_EVERY_SECONDS):
            view = self._session.view
            counters = self._session.canary.counters if self._session.canary else None
            fault = view.fault_at
            now = self._session.clock.now()
            canary = None
            if counters is not None:
                recent.append((now, counters.acked, counters.failed))
                while recent and recent[0][0] < now - ERROR_RATE_WINDOW_SECONDS:
                    recent.popleft()
                acked = counters.acked - recent[0][1]
                failed = counters.failed - recent[0][2]
                canary = {
                    "acked": counters.acked,
                    "failed": counters.failed,
                    "error_rate": failed / (acked + failed) if acked + failed else None,
                    "window_seconds": ERROR_RATE_WINDOW_SECONDS,
                }
            with contextlib.suppress(OSError):
                self._exercise.write_status(
                    {
                        "signals": dict(view.health),
                        "since_fault_seconds": None if fault is None else round(now - fault, 1),
                        "canary": canary,
                    }
                )


def trainee_marks(events: list[TraineeEvent], session: MeasurementSession) -> list[ActivityMark]:
    """The trainee's actions as activity marks of the method, for the timeline and the chart.
    No chaoslib status: a command that failed is the trainee's, not a failed runbook step."""
    marks = []
    for event in events:
        start = session.clock.from_utc(event.at)
        end = start if event.end is None else session.clock.from_utc(event.end)
        if event.kind is EventKind.COMMAND:
            name = f"trainee: {event.text} (exit {event.exit_status})"
        elif event.kind is EventKind.RESOLVE:
            name = f"trainee: resolve ({'accepted' if event.ok else 'refused: ' + event.text})"
        elif event.kind is EventKind.HINT:
            name = f"trainee: hint ({event.text or 'none left'})"
        else:
            name = f"trainee: {event.kind.value}" + (f" {event.text}" if event.text else "")
        marks.append(ActivityMark(name, "trainee", Stage.METHOD, start, end, ("trainee",), None))
    return marks


def _ended_by(journal: dict[str, Any], interrupted: bool) -> str:
    if interrupted or journal.get("status") in ("interrupted", "aborted"):
        return "interrupted"
    before = (journal.get("steady_states") or {}).get("before") or {}
    if not before.get("steady_state_met", True):
        return "refused"
    for run in journal.get("run") or []:
        if (run.get("activity") or {}).get("name") == WAIT_ACTIVITY:
            output = run.get("output") or {}
            return str(output.get("ended_by", "interrupted"))
    return "interrupted"


def _why(ended_by: str, ctx: _Context) -> str:
    return {
        "time-limit": (
            f"not recovered by the trainee within the time limit "
            f"({ctx.request.time_limit_seconds:.0f} s); the rollbacks restored the system"
        ),
        "stopped": "stopped by the facilitator; the rollbacks restored the system",
        "refused": "the steady state did not hold before the fault: nothing was injected",
    }.get(ended_by, "interrupted (Ctrl-C or SIGTERM); the rollbacks restored the system")


def exit_code_for(card: Scorecard) -> ExitCode:
    """0 recovered within the objectives; 1 not recovered in time or an objective missed;
    3 stopped, interrupted or refused."""
    if card.ended_by in ("stopped", "interrupted", "refused"):
        return ExitCode.ABORTED
    if card.recovered and card.rto_met and card.rpo_met is not False:
        return ExitCode.MET
    return ExitCode.MISSED


def headline(card: Scorecard) -> str:
    if not card.recovered:
        return f"NOT RECOVERED ({card.ended_by}): {card.scenario}"
    rto = "n/a" if card.rto_seconds is None else f"{card.rto_seconds:.1f} s"
    return f"RECOVERED {card.scenario}: RTO {rto}, {card.steps_taken} runbook steps taken"


def _always(step: object) -> bool:
    return True
