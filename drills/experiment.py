"""Loading a Chaos Toolkit experiment for a drill: its shape, chaoslib's validation, our control.

The shape is checked first, against `drills/schemas/experiment.json`: chaoslib's own validation
assumes it (a `method: 5` or `rollbacks: 7` is a TypeError inside chaoslib, not an error message).
Any experiment file can be drilled: when it does not declare the drills measurement control, the
runner adds it, so every drill is measured the same way.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import Any

from drills.control import CONTROL_MODULE, CONTROL_NAME
from drills.errors import InputError
from drills.schema import check_document
from drills.yamlfiles import load_mapping


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
