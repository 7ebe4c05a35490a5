"""Loading a Chaos Toolkit experiment for a drill: chaoslib's own validation, plus our control.

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


def load_for_run(path: Path) -> dict[str, Any]:
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid
    from chaoslib.loader import load_experiment

    quiet = logging.getLogger("chaostoolkit")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            experiment: dict[str, Any] = dict(load_experiment(str(path)))
            ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        raise InputError(f"experiment {path} is invalid: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"experiment {path} cannot be loaded: {exc}") from exc
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
