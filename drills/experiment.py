"""Loading a Chaos Toolkit experiment for a drill: its shape, chaoslib's validation, our control.

The shape is checked first, against `drills/schemas/experiment.json`: chaoslib's own validation
assumes it (a `method: 5` or `rollbacks: 7` is a TypeError inside chaoslib, not an error message).
Any experiment file can be drilled: when it does not declare the drills measurement control, the
runner adds it, so every drill is measured the same way. Nobody outside this project tags an
activity `fault`, so when none is tagged the fault is the first activity of the method (or the one
named by `drills run --fault NAME`); `designate_fault` says which, once, for both `drills run` and
a plain `chaos run` (it returns the names it chose, for the control to remember), and the
report says why.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drills.errors import InputError
from drills.expectations import EXTENSION_NAME
from drills.models import FAULT_TAG
from drills.schema import check_document
from drills.yamlfiles import load_mapping

CONTROL_MODULE = "drills.control"  # the measurement control every drill runs with
CONTROL_NAME = "drills-measurement"
FAULT_KEY = "fault"  # in the drills extension: the name of the fault activity
FAULT_WHY_KEY = "fault_chosen"  # in the drills extension: how it was chosen, when not tagged


def read_experiment(path: Path) -> dict[str, Any]:
    """The experiment in `path`, of the shape of a Chaos Toolkit experiment (else InputError)."""
    experiment = load_mapping(path, "experiment", expected=" (title, method, ...)")
    check_document(experiment, "experiment", f"experiment {path}")
    return experiment


def load_for_run(path: Path) -> dict[str, Any]:
    """The experiment in `path`, valid for chaoslib, with the drills measurement control."""
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid

    experiment = read_experiment(path)

    quiet = logging.getLogger("chaostoolkit")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        raise InputError(f"experiment {path} is invalid: {exc}") from exc
    except ValueError as exc:  # an env_var_type the configuration's value does not convert to
        raise InputError(f"experiment {path} is invalid: {exc}") from exc
    finally:
        quiet.setLevel(level)
    add_measurement_control(experiment)
    return experiment


def add_measurement_control(experiment: dict[str, Any]) -> None:
    controls = experiment.setdefault("controls", [])
    declared = any(
        (c.get("provider") or {}).get("module") == CONTROL_MODULE
        for c in controls
        if isinstance(c, dict)
    )
    if not declared:
        controls.append(
            {"name": CONTROL_NAME, "provider": {"type": "python", "module": CONTROL_MODULE}}
        )


def _drills_extension(experiment: dict[str, Any]) -> dict[str, Any]:
    extensions = experiment.get("extensions")
    if not isinstance(extensions, list):
        extensions = experiment["extensions"] = []
    for entry in extensions:
        if isinstance(entry, dict) and entry.get("name") == EXTENSION_NAME:
            return entry
    entry = {"name": EXTENSION_NAME}
    extensions.append(entry)
    return entry


@dataclass(frozen=True)
class FaultChoice:
    """The method activities taken as the fault, and how they were chosen when their author did
    not tag them (None: tagged `fault` in the file, or an empty method)."""

    names: frozenset[str]
    why: str | None = None


def designate_fault(experiment: dict[str, Any], override: str | None = None) -> FaultChoice:
    """Choose the experiment's fault activity, tag it `fault` (in place) and return the choice.

    The fault is, in order: the method activity named by `override` (`drills run --fault`) or by
    the drills extension's `fault` key; the activities tagged `fault`; the first activity of the
    method. With none (an empty method) nothing is tagged and the drill will be invalid.
    """
    method = [a for a in experiment.get("method") or [] if isinstance(a, dict)]
    extension = _drills_extension(experiment)
    named = override or extension.get(FAULT_KEY)
    if named is not None:
        chosen = [a for a in method if a.get("name") == named]
        if not chosen:
            names = ", ".join(str(a.get("name")) for a in method) or "none"
            raise InputError(f"no method activity named {named!r} to take as the fault ({names})")
        why = f"named as the fault ({'--fault' if override else 'the drills extension'})"
    elif any(FAULT_TAG in (a.get("tags") or []) for a in method):
        tagged = (a for a in method if FAULT_TAG in (a.get("tags") or []))
        return FaultChoice(frozenset(str(a.get("name")) for a in tagged))
    elif method:
        chosen = method[:1]
        why = (
            "the first activity of the method (no activity is tagged `fault`; "
            "choose another with `drills run --fault NAME`)"
        )
    else:
        return FaultChoice(frozenset())
    choice = FaultChoice(frozenset({str(chosen[0].get("name"))}), why)
    apply_fault_choice(experiment, choice)
    return choice


def apply_fault_choice(experiment: dict[str, Any], choice: FaultChoice) -> None:
    """Tag exactly the chosen activities `fault` and note why in the drills extension (for a copy
    of the experiment, such as the one in Chaos Toolkit's journal). A choice of tagged activities
    changes nothing."""
    if choice.why is None:
        return
    method = [a for a in experiment.get("method") or [] if isinstance(a, dict)]
    for activity in method:
        tags = [t for t in activity.get("tags") or [] if t != FAULT_TAG]
        if str(activity.get("name")) in choice.names:
            tags.append(FAULT_TAG)
        activity["tags"] = tags
    extension = _drills_extension(experiment)
    extension[FAULT_KEY] = next(iter(choice.names))
    extension[FAULT_WHY_KEY] = choice.why


def fault_choice(experiment: dict[str, Any]) -> str | None:
    """The note saying which activity was taken as the fault and why, when it was not tagged."""
    for entry in experiment.get("extensions") or []:
        if isinstance(entry, dict) and entry.get("name") == EXTENSION_NAME:
            why = entry.get(FAULT_WHY_KEY)
            if why:
                return f"the fault is {entry.get(FAULT_KEY)!r}: {why}"
    return None
