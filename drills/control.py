"""The drills measurement control for Chaos Toolkit.

Declared in every drills experiment (the `scenario` argument names the run under a plain
`chaos run`, where the file's name is not known):

    controls:
      - name: drills-measurement
        provider: {type: python, module: drills.control, arguments: {scenario: complete-outage}}

Under `drills run`, the runner attaches its own `MeasurementSession` and this control only records
each activity's start and end (and which stage it ran in). Under a plain `chaos run`, there is no
session yet: the control opens the target named by the `drills_target` configuration (or
DRILLS_TARGET) and runs the drill's lifecycle itself (`drills.standalone`: the same drill lock,
watchdog and cluster watch as `drills run`), and writes the run folder and reports when it ends,
so a plain `chaos run` measures too. A target another drill holds refuses the run before anything
is injected. Run it with `--rollback-strategy always`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from drills.errors import DrillError
from drills.experiment import CONTROL_MODULE, CONTROL_NAME, designate_fault
from drills.models import FAULT_TAG, Stage
from drills.session import MeasurementSession

if TYPE_CHECKING:
    from drills.standalone import StandaloneRun

__all__ = [
    "CONTROL_MODULE",
    "CONTROL_NAME",
    "after_activity_control",
    "after_experiment_control",
    "attach",
    "before_activity_control",
    "before_experiment_control",
    "before_hypothesis_control",
    "before_method_control",
    "before_rollback_control",
    "detach",
]

logger = logging.getLogger("drills")
# what a person running `chaos run` must see goes where Chaos Toolkit's own lines go
console = logging.getLogger("chaostoolkit")
REFUSED_EXIT = 30  # chaoslib: end the experiment now and never run the rollbacks (see exit.py)

_lock = threading.Lock()
_session: MeasurementSession | None = None
_owned: StandaloneRun | None = None  # under a plain `chaos run`: the drill this control runs
_method_started = False
_keys: dict[int, str] = {}
_fault_names: set[str] = set()  # under a plain `chaos run`: the activities taken as the fault
_suspended = False


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """No measurement at all (a dry run: nothing is injected, nothing may be written)."""
    global _suspended
    _suspended = True
    try:
        yield
    finally:
        _suspended = False


def attach(session: MeasurementSession) -> None:
    """The runner hands over its session before running the experiment."""
    global _session, _owned, _method_started
    with _lock:
        _session, _owned, _method_started = session, None, False
        _keys.clear()
        _fault_names.clear()  # `drills run` tagged its fault in the experiment itself


def detach() -> None:
    global _session, _owned
    with _lock:
        _session, _owned = None, None
        _keys.clear()


def before_experiment_control(
    context: dict[str, Any],
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
    **kwargs: Any,
) -> None:
    global _session, _owned, _method_started
    with _lock:
        _method_started = False
        if _session is not None or _suspended:
            return
    from drills.standalone import start_standalone

    # the same fault as `drills run` would take; chaoslib may run the method from a copy of this
    # dict, so the control remembers the names, not the tags
    try:
        choice = designate_fault(context)
        run = start_standalone(context, configuration, kwargs.get("scenario"), choice)
    except DrillError as exc:  # e.g. another drill holds the target: nothing may be injected
        console.error("drills: refused: %s", exc)
        raise SystemExit(REFUSED_EXIT) from exc
    with _lock:
        _session, _owned = run.lifecycle.session, run
        _fault_names.clear()
        _fault_names.update(choice.names)


def before_hypothesis_control(context: dict[str, Any], **kwargs: Any) -> None:
    if _session is not None:
        _session.set_stage(Stage.HYPOTHESIS_AFTER if _method_started else Stage.HYPOTHESIS_BEFORE)


def before_method_control(context: dict[str, Any], **kwargs: Any) -> None:
    global _method_started
    _method_started = True
    if _session is not None:
        _session.set_stage(Stage.METHOD)


def before_rollback_control(context: dict[str, Any], **kwargs: Any) -> None:
    if _session is not None:
        _session.set_stage(Stage.ROLLBACK)


def before_activity_control(context: dict[str, Any], **kwargs: Any) -> None:
    session = _session
    if session is None:
        return
    stage = session.view.stage or Stage.HYPOTHESIS_BEFORE
    tags = tuple(str(t) for t in context.get("tags") or ())
    if stage is Stage.METHOD and context.get("name") in _fault_names and FAULT_TAG not in tags:
        tags = (*tags, FAULT_TAG)
    key = session.activity_started(
        str(context.get("name", "?")), str(context.get("type", "action")), stage, tags
    )
    with _lock:
        _keys[id(context)] = key


def after_activity_control(
    context: dict[str, Any], state: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    session = _session
    if session is None:
        return
    with _lock:
        key = _keys.pop(id(context), None)
    if key is not None:
        run = state or {}
        status = run.get("status")
        session.activity_ended(
            key,
            None if status is None else str(status),
            ran_from=_journal_instant(run.get("start")),
            ran_until=_journal_instant(run.get("end")),
        )


def _journal_instant(value: object) -> datetime | None:
    """An activity's own start or end as Chaos Toolkit recorded it (ISO-8601), if readable."""
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def after_experiment_control(
    context: dict[str, Any], state: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    global _session, _owned
    with _lock:
        owned = _owned
        if owned is not None:
            _session, _owned = None, None
    if owned is not None:
        from drills.standalone import finish_standalone

        finish_standalone(owned, context, state or {})
