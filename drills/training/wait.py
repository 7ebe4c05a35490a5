"""The game day's one method activity after the fault: wait while a person works the incident.

Chaos Toolkit runs it like any action (so the journal, the control's marks and the rollbacks stay
as for a drill); it returns when the trainee's `drills train resolve` found the steady state
holding, when the facilitator ran `drills train stop`, or at the time limit. Ctrl-C reaches it
as a KeyboardInterrupt, which Chaos Toolkit turns into an interrupted run with rollbacks.
`unless_resolved` wraps the experiment's own recovery steps as rollbacks that run only when the
trainee did not recover.
"""

from __future__ import annotations

import importlib
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from drills.training.exercise import EventKind, Exercise, ExerciseState, now_utc

__all__ = ["POLL_SECONDS", "unless_resolved", "wait_for_trainee"]

POLL_SECONDS = 0.2


def wait_for_trainee(
    exercise: str,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Wait until the incident is resolved, stopped, or the time limit passes."""
    folder = Exercise(Path(exercise))
    info = folder.info()
    started = time.monotonic()
    info.state = ExerciseState.RUNNING
    info.deadline_utc = (now_utc() + timedelta(seconds=info.time_limit_seconds)).isoformat()
    folder.write_info(info)
    while True:
        for event in folder.events():
            if event.kind is EventKind.RESOLVE and event.ok:
                return {"resolved": True, "ended_by": "resolved"}
            if event.kind is EventKind.STOP:
                return {"resolved": False, "ended_by": "stopped"}
        if time.monotonic() - started >= info.time_limit_seconds:
            return {"resolved": False, "ended_by": "time-limit"}
        time.sleep(POLL_SECONDS)


def unless_resolved(
    exercise: str,
    module: str,
    func: str,
    arguments: dict[str, Any] | None = None,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> Any:
    """A rollback: one of the experiment's own recovery steps, run only when the trainee's
    resolve was not accepted (time limit, stop, Ctrl-C), so that nothing is left broken: a
    corrupted database needs its restore, not only the rollbacks of a drill that recovered."""
    folder = Exercise(Path(exercise))
    if any(e.kind is EventKind.RESOLVE and e.ok for e in folder.events()):
        return {"skipped": "the trainee recovered the system"}
    step = getattr(importlib.import_module(module), func)
    return step(**(arguments or {}), configuration=configuration, secrets=secrets)
