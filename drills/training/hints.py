"""`drills train hint`: the next runbook step the trainee has not taken yet.

The scenario's runbook section, in its own order, less the steps already taken (as the scorecard
matches them) and the ones that name what this target does not have. Every hint given is counted
on the scorecard.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from drills.runbook.model import Scenario as RunbookScenario
from drills.runbook.steps import Step
from drills.training.exercise import EventKind, TraineeEvent
from drills.training.score import command_step, step_key

__all__ = ["next_step"]


def next_step(
    runbook_scenario: RunbookScenario,
    events: Sequence[TraineeEvent],
    applicable: Callable[[Step], bool],
) -> Step | None:
    """The first applicable step of the section not taken yet (None: every one was taken)."""
    done = {step_key(command_step(e)) for e in events if e.kind is EventKind.COMMAND}
    for step in runbook_scenario.steps:
        if applicable(step) and step_key(step) not in done:
            return step
    return None


def describe(step: Step) -> str:
    """The hint as said to the trainee: where in the runbook, and the command."""
    origin = step.origin
    where = " / ".join(p for p in (origin.phase, origin.item) if p)
    lines = [f"runbook line {origin.line}" + (f" ({where})" if where else "")]
    if origin.note:
        lines.append(f"  # {origin.note}")
    lines.append(f"  {step.text}")
    return "\n".join(lines)
