"""Which scenarios a game day can use, what the pager says for each, and the exercise's experiment.

A game day runs the scenario's own experiment file, cut after its fault: the activities of the
method up to and including the last one tagged `fault` (what runs before the fault is business as
usual, such as the scheduled backups a restore will start from), then one activity that waits for
the trainee, then the experiment's own rollbacks. So no experiment needs a second copy, the
recovery steps never run by themselves, and Chaos Toolkit still plays the rollbacks after a time
limit, a facilitator's stop or Ctrl-C.

A scenario is trainable when its fault stays until someone repairs it (a fault that heals itself
after a hold time teaches nothing) and the runbook has a scenario for it; the table says which
runbook scenario, and what the pager says when the facilitator hides the scenario.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drills.errors import InputError
from drills.models import FAULT_TAG

__all__ = [
    "DEFAULT_RUNBOOK",
    "TRAINABLE",
    "WAIT_ACTIVITY",
    "TrainingScenario",
    "exercise_experiment",
    "pick",
]

DEFAULT_RUNBOOK = Path(__file__).with_name("runbook.md")
WAIT_ACTIVITY = "trainee-works-the-incident"


@dataclass(frozen=True)
class TrainingScenario:
    name: str  # the experiment's catalog name
    runbook_scenario: str  # "Scenario 1": the runbook section the trainee should follow
    alert: str  # what a pager would say (the runbook's alert conditions), nothing more
    data_fault: bool = False  # resolved only when the data is whole again, not just served


TRAINABLE: dict[str, TrainingScenario] = {
    s.name: s
    for s in (
        TrainingScenario(
            "complete-outage",
            "Scenario 1",
            "PAGE (Severity 1): service unavailable for > 1 minute - "
            "https://maestro.intelgraph.ai/health failing across all endpoints",
        ),
        TrainingScenario(
            "data-corruption",
            "Scenario 4",
            "PAGE (Severity 1): integrity check alert - database consistency check failures; "
            "users report missing or corrupted data",
            data_fault=True,
        ),
    )
}


def pick(name: str | None, chooser: random.Random | None = None) -> TrainingScenario:
    """The named trainable scenario, or one at random (`name` None)."""
    if name is None:
        return (chooser or random.SystemRandom()).choice(sorted(TRAINABLE.values(), key=_key))
    found = TRAINABLE.get(name)
    if found is None:
        known = ", ".join(sorted(TRAINABLE))
        raise InputError(f"scenario {name!r} cannot be trained (trainable: {known})")
    return found


def _key(scenario: TrainingScenario) -> str:
    return scenario.name


def exercise_experiment(experiment: dict[str, Any], exercise_dir: Path) -> dict[str, Any]:
    """The game day's experiment: the method up to its last fault, then the wait for the trainee
    (`drills.training.wait`); rollbacks: the recovery steps unless resolved, then its own."""
    method = [a for a in experiment.get("method") or [] if isinstance(a, dict)]
    faults = [i for i, a in enumerate(method) if FAULT_TAG in (a.get("tags") or [])]
    if not faults:
        raise InputError(f"experiment {experiment.get('title')!r} tags no activity `fault`")
    cut = copy.deepcopy(method[: faults[-1] + 1])
    cut.append(
        {
            "type": "action",
            "name": WAIT_ACTIVITY,
            "provider": {
                "type": "python",
                "module": "drills.training.wait",
                "func": "wait_for_trainee",
                "arguments": {"exercise": str(exercise_dir)},
            },
        }
    )
    out = copy.deepcopy(experiment)
    out["method"] = cut
    recovery = [
        _unless_resolved(activity, exercise_dir)
        for activity in method[faults[-1] + 1 :]
        if (activity.get("provider") or {}).get("type") == "python"
    ]
    out["rollbacks"] = [*recovery, *copy.deepcopy(experiment.get("rollbacks") or [])]
    return out


def _unless_resolved(activity: dict[str, Any], exercise_dir: Path) -> dict[str, Any]:
    """The experiment's recovery step as a rollback that runs only if the trainee did not
    recover (`drills.training.wait.unless_resolved`)."""
    provider = activity["provider"]
    return {
        "type": "action",
        "name": f"restore-unless-resolved: {activity.get('name')}",
        "provider": {
            "type": "python",
            "module": "drills.training.wait",
            "func": "unless_resolved",
            "arguments": {
                "exercise": str(exercise_dir),
                "module": provider["module"],
                "func": provider["func"],
                "arguments": copy.deepcopy(provider.get("arguments") or {}),
            },
        },
    }
