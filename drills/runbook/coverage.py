"""`drills runbook coverage`: which runbook steps each drill exercises, and which none does.

An experiment exercises a step when one of its activities (steady-state probes, method,
rollbacks; python providers only) does what the step does, by the table in `activities.py`.
A step no experiment exercises is a step nobody has practised: the first to fail in an incident.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drills.catalog import EXPERIMENTS_DIR, Scenario, scenarios
from drills.runbook.activities import activity_exercises
from drills.runbook.model import Runbook
from drills.runbook.steps import Step
from drills.yamlfiles import load_mapping

__all__ = ["Coverage", "ExperimentCoverage", "coverage"]


@dataclass(frozen=True)
class ExperimentCoverage:
    name: str
    title: str
    runbook_tags: tuple[str, ...]  # `runbook:scenario-2` tags, as written
    steps: tuple[Step, ...]  # the runbook steps it exercises, in runbook order
    activities: int  # python-provider activities it has

    def to_json(self) -> dict[str, Any]:
        return {
            "experiment": self.name,
            "title": self.title,
            "runbook_tags": list(self.runbook_tags),
            "activities": self.activities,
            "steps": [{"line": s.origin.line, "step": s.subject()} for s in self.steps],
        }


@dataclass(frozen=True)
class Coverage:
    runbook: str
    experiments: tuple[ExperimentCoverage, ...]
    never: tuple[Step, ...]  # steps no experiment exercises
    total: int

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "drills.runbook-coverage/v1",
            "runbook": self.runbook,
            "steps": self.total,
            "exercised": self.total - len(self.never),
            "experiments": [e.to_json() for e in self.experiments],
            "never_exercised": [
                {
                    "line": s.origin.line,
                    "step": s.subject(),
                    "scenario": s.origin.scenario,
                    "section": s.origin.section,
                }
                for s in self.never
            ],
        }


def _activities(experiment: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    blocks: Sequence[Any] = [
        *(hypothesis.get("probes") or []),
        *(experiment.get("method") or []),
        *(experiment.get("rollbacks") or []),
    ]
    for activity in blocks:
        provider = activity.get("provider") if isinstance(activity, dict) else None
        if isinstance(provider, dict) and provider.get("type") == "python":
            arguments = provider.get("arguments")
            yield (
                str(provider.get("module")),
                str(provider.get("func")),
                arguments if isinstance(arguments, dict) else {},
            )


def _experiment(scenario: Scenario, runbook: Runbook) -> ExperimentCoverage:
    data = load_mapping(scenario.path, "experiment")
    activities = list(_activities(data))
    steps = tuple(
        step
        for step in runbook.steps
        if any(activity_exercises(m, f, args, step) for m, f, args in activities)
    )
    tags = tuple(str(t) for t in data.get("tags") or [] if str(t).startswith("runbook:"))
    return ExperimentCoverage(scenario.name, scenario.title, tags, steps, len(activities))


def coverage(runbook: Runbook, directory: Path = EXPERIMENTS_DIR) -> Coverage:
    """Each experiment in `directory` with the runbook steps it exercises; the rest."""
    found = tuple(_experiment(s, runbook) for s in scenarios(directory))
    exercised = {id(step) for e in found for step in e.steps}
    never = tuple(step for step in runbook.steps if id(step) not in exercised)
    where = str(runbook.path) if runbook.path else "runbook"
    return Coverage(where, found, never, len(runbook.steps))
