"""The game day's scorecard: what the trainee achieved, against the objectives and against par.

Pure functions over a finished exercise: the drill result (measured as for any drill), the
trainee's events, the runbook's steps for the scenario and the automated drill's history.

Definitions (all in seconds from the fault, the drill's `fault_at`):
- time to acknowledge: the first `drills train ack`;
- time to detect, RTO, RPO, writes lost: the drill's own measurements; RTO counts only when the
  trainee's `resolve` was accepted (a system the rollbacks restored was "not recovered");
- time to mitigate: the end of the first successful command that changed the system and is a step
  of the scenario's runbook section;
- par: the median RTO and RPO of the newest met automated drills of the scenario on the same kind
  of target (at most `PAR_RUNS`);
- runbook steps: each step of the scenario's runbook section is taken (the first command that
  does what it does: same kubectl verb and objects, same HTTP method and path, same script),
  skipped, or not applicable on this target (a system it does not have); a step taken after a
  later one is out of order; an extra action changed the system outside the runbook's steps, or
  restarted a component that was healthy at the time.
"""

from __future__ import annotations

import shlex
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from drills.models import DrillResult, Sample
from drills.runbook.commands import to_step
from drills.runbook.model import Scenario as RunbookScenario
from drills.runbook.names import component_of, foreign
from drills.runbook.shell import CommandLine
from drills.runbook.steps import HttpStep, KubectlStep, ScriptStep, Step, StepOrigin
from drills.targets.base import Component
from drills.training.exercise import EventKind, TraineeEvent

__all__ = ["PAR_RUNS", "Par", "Scorecard", "StepScore", "build_scorecard", "step_key"]

PAR_RUNS = 5
_SIGNAL_OF = {
    Component.CONTROL_PLANE: "health",
    Component.POSTGRES: "postgres",
    Component.REDIS: "redis",
}


@dataclass(frozen=True)
class Par:
    rto_seconds: float | None
    rpo_seconds: float | None
    runs: int

    @classmethod
    def of(cls, rtos: Sequence[float | None], rpos: Sequence[float | None]) -> Par:
        rto = [v for v in rtos if v is not None]
        rpo = [v for v in rpos if v is not None]
        return cls(
            statistics.median(rto) if rto else None,
            statistics.median(rpo) if rpo else None,
            len(rtos),
        )


@dataclass(frozen=True)
class StepScore:
    line: int
    phase: str | None
    text: str
    status: str  # "taken" | "skipped" | "not applicable"
    at_seconds: float | None = None
    in_order: bool | None = None


@dataclass(frozen=True)
class Scorecard:
    scenario: str
    runbook_scenario: str
    hidden: bool
    ended_by: str  # "resolved" | "time-limit" | "stopped" | "interrupted" | "refused"
    recovered: bool
    time_to_acknowledge_seconds: float | None
    time_to_detect_seconds: float | None
    time_to_mitigate_seconds: float | None
    rto_seconds: float | None
    rpo_seconds: float | None
    writes_lost: int | None
    writes_corrupted: int | None
    rto_objective_seconds: float
    rpo_objective_seconds: float
    par: Par | None
    steps: tuple[StepScore, ...]
    extra_actions: tuple[str, ...]
    hints_used: int
    rejected_resolves: int
    commands: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = ()
    unmeasured: dict[str, str] = field(default_factory=dict)

    @property
    def steps_taken(self) -> int:
        return sum(s.status == "taken" for s in self.steps)

    @property
    def steps_out_of_order(self) -> int:
        return sum(s.in_order is False for s in self.steps)

    @property
    def steps_skipped(self) -> int:
        return sum(s.status == "skipped" for s in self.steps)

    @property
    def rto_met(self) -> bool | None:
        if not self.recovered:
            return False
        return None if self.rto_seconds is None else self.rto_seconds <= self.rto_objective_seconds

    @property
    def rpo_met(self) -> bool | None:
        return None if self.rpo_seconds is None else self.rpo_seconds <= self.rpo_objective_seconds

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema"] = "drills.scorecard/v1"
        data["steps_taken"] = self.steps_taken
        data["steps_skipped"] = self.steps_skipped
        data["steps_out_of_order"] = self.steps_out_of_order
        data["rto_met"] = self.rto_met
        data["rpo_met"] = self.rpo_met
        return data


def step_key(step: Step) -> tuple[str, ...]:
    """What makes two commands the same runbook step (namespaces and output flags aside)."""
    if isinstance(step, KubectlStep):
        objects = ",".join(sorted(str(o) for o in step.objects))
        # the runbook's own namespace may be written or left out; another system's may not
        other = step.namespace if step.namespace and foreign(step.namespace) else ""
        return ("kubectl", step.verb, step.subverb or "", objects, step.selector_text or "", other)
    if isinstance(step, HttpStep):
        return ("http", step.method, urlsplit(step.url).path.rstrip("/"))
    if isinstance(step, ScriptStep):
        return ("script", PurePosixPath(step.path).name)
    return ("other", step.text)


def command_step(event: TraineeEvent) -> Step:
    argv = event.argv or tuple(shlex.split(event.text))
    return to_step(CommandLine(0, shlex.join(argv), argv), StepOrigin(0, "training shell"))


def _healthy(samples: Sequence[Sample], signal: str, t: float) -> bool | None:
    """The signal's state at `t`: its last sample known by then (None: never sampled)."""
    state: bool | None = None
    for sample in samples:
        if sample.signal == signal and (sample.known or sample.t) <= t:
            state = sample.ok
    return state


def build_scorecard(
    result: DrillResult,
    samples: Sequence[Sample],
    events: Sequence[TraineeEvent],
    to_run: Callable[[datetime], float],
    runbook_scenario: RunbookScenario,
    *,
    scenario: str,
    hidden: bool,
    ended_by: str,
    applicable: Callable[[Step], bool],
    par: Par | None,
    rto_objective_seconds: float,
    rpo_objective_seconds: float,
) -> Scorecard:
    m = result.measurements
    fault = m.fault_at
    recovered = ended_by == "resolved"

    def since_fault(instant: datetime) -> float | None:
        return None if fault is None else round(to_run(instant) - fault, 3)

    commands = [e for e in events if e.kind is EventKind.COMMAND]
    acks = [e for e in events if e.kind is EventKind.ACK]
    book = list(runbook_scenario.steps)
    keys = [step_key(s) for s in book]
    taken: dict[int, float] = {}
    extra: list[str] = []
    mitigated: float | None = None
    command_rows: list[dict[str, Any]] = []
    for event in commands:
        step = command_step(event)
        at = since_fault(event.at)
        command_rows.append({"at_seconds": at, "command": event.text, "exit": event.exit_status})
        key = step_key(step)
        matched = [i for i, k in enumerate(keys) if k == key]
        for index in matched:
            if at is not None:
                taken.setdefault(index, at)
        if not step.mutating:
            continue
        if not matched:
            extra.append(f"{event.text} (not a step of {runbook_scenario.key})")
        elif isinstance(step, KubectlStep) and step.subverb == "restart":
            component = component_of(step)
            signal = _SIGNAL_OF.get(component) if component else None
            if signal and _healthy(samples, signal, to_run(event.at)):
                extra.append(f"{event.text} ({component} was healthy)")
        if matched and event.exit_status == 0 and mitigated is None and event.end is not None:
            mitigated = since_fault(event.end)
    in_order = _in_order(sorted(taken, key=lambda i: (taken[i], i)))
    steps = tuple(
        StepScore(
            line=step.origin.line,
            phase=step.origin.phase,
            text=step.text,
            status=("taken" if i in taken else "skipped" if applicable(step) else "not applicable"),
            at_seconds=taken.get(i),
            in_order=in_order.get(i),
        )
        for i, step in enumerate(book)
    )
    unmeasured = dict(m.unmeasured)
    if not recovered:
        unmeasured["rto_seconds"] = f"not recovered by the trainee (ended by: {ended_by})"
    return Scorecard(
        scenario=scenario,
        runbook_scenario=f"{runbook_scenario.key}: {runbook_scenario.title}",
        hidden=hidden,
        ended_by=ended_by,
        recovered=recovered,
        time_to_acknowledge_seconds=since_fault(acks[0].at) if acks else None,
        time_to_detect_seconds=m.time_to_detect_seconds,
        time_to_mitigate_seconds=mitigated,
        rto_seconds=m.rto_seconds if recovered else None,
        rpo_seconds=m.rpo_seconds,
        writes_lost=m.writes_lost,
        writes_corrupted=m.writes_corrupted,
        rto_objective_seconds=rto_objective_seconds,
        rpo_objective_seconds=rpo_objective_seconds,
        par=par,
        steps=steps,
        extra_actions=tuple(extra),
        hints_used=sum(e.kind is EventKind.HINT for e in events),
        rejected_resolves=sum(e.kind is EventKind.RESOLVE and not e.ok for e in events),
        commands=tuple(command_rows),
        notes=tuple(e.text for e in events if e.kind is EventKind.NOTE),
        unmeasured=unmeasured,
    )


def _in_order(order: Sequence[int]) -> dict[int, bool]:
    """Runbook positions in the order taken -> whether each is in order: the longest run of
    steps taken in the runbook's order is; every other step was taken out of order."""
    if not order:
        return {}
    best = [1] * len(order)
    before = [-1] * len(order)
    for i in range(len(order)):
        for j in range(i):
            if order[j] < order[i] and best[j] + 1 > best[i]:
                best[i], before[i] = best[j] + 1, j
    kept: set[int] = set()
    at = max(range(len(order)), key=lambda i: best[i])
    while at >= 0:
        kept.add(order[at])
        at = before[at]
    return {index: index in kept for index in order}


def sandbox_applicable(step: Step) -> bool:
    """Whether a runbook step names something the sandbox has (not Neo4j, not the ingress)."""
    return foreign(step.text) is None
