"""`drills runbook scaffold`: a draft experiment for one runbook scenario.

Detection becomes the steady-state hypothesis (the service healthy, GraphQL answering, breakers
closed: what the runbook's detection signals see failing). Every command of the scenario, in the
runbook's order (immediate actions, recovery, verification, a phase of any other name), becomes
one method activity through the same table `coverage` uses (`activities.py`); a step with no
probe or action behind it becomes a `TODO-` placeholder (`drills.probes.runbook.manual_step`)
that validates and runs but does nothing. The fault, which a runbook never describes, is taken
from the experiment already drilling this scenario (its `runbook:scenario-N` tag), else a `TODO-`
placeholder tagged `fault`. The runbook's objectives go into the configuration, where a person
can read and change them.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from drills.catalog import EXPERIMENTS_DIR, scenarios
from drills.runbook.activities import Rule, rules_for
from drills.runbook.model import PhaseKind, Runbook, Scenario
from drills.runbook.steps import Step
from drills.yamlfiles import load_mapping

__all__ = ["scaffold", "scaffold_yaml"]

PLACEHOLDER = ("drills.probes.runbook", "manual_step")
# Arguments a drafted activity needs beyond what the step says (required by the function).
DRAFT_ARGUMENTS: dict[str, dict[str, Any]] = {
    "drills.actions.service.set_rate_limit": {"limit": "50/second"},
    "drills.actions.service.block_addresses": {"addresses": ["198.51.100.7"]},  # TEST-NET-2
    "drills.actions.service.set_maintenance": {"enabled": True},
    "drills.actions.components.wait_until_healthy": {"timeout_seconds": 60},
    "drills.actions.breakers.wait_for_breakers_closed": {"timeout_seconds": 15},
}
STEADY_STATE = (
    ("primary-health-check", "drills.probes.http", "health_ok"),
    ("graphql-health-check", "drills.probes.http", "graphql_health_check"),
    ("circuit-breakers-closed", "drills.probes.http", "circuit_breakers_closed"),
)
_REQUIRED = {
    "drills.actions.components.scale_component": ("replicas",),
    # an alert drill needs its preparation and a condition: a step alone cannot say which
    "drills.actions.monitoring.await_alert": ("condition",),
}


def _slug(text: str) -> str:
    words = "".join(c.lower() if c.isalnum() else " " for c in text).split()
    return "-".join(words[:8]) or "step"


def _provider(module: str, func: str, arguments: dict[str, Any]) -> dict[str, Any]:
    provider: dict[str, Any] = {"type": "python", "module": module, "func": func}
    if arguments:
        provider["arguments"] = arguments
    return provider


def _choose(step: Step, phase: PhaseKind) -> tuple[Rule, dict[str, Any]] | None:
    usable = [
        (rule, args)
        for rule, args in rules_for(step)
        if all(key in args for key in (*rule.keys, *_REQUIRED.get(rule.name, ())))
    ]
    if phase is PhaseKind.VERIFICATION:  # verifying is waiting for it, not one look
        usable.sort(key=lambda pair: pair[0].probe)
    return usable[0] if usable else None


def _activity(step: Step, phase: PhaseKind) -> dict[str, Any]:
    label = step.origin.note or step.origin.item or step.subject()
    chosen = _choose(step, phase)
    if chosen is None:
        return {
            "type": "probe",
            "name": f"TODO-L{step.origin.line}-{_slug(label)}",
            "tags": ["placeholder", phase.value],
            "provider": _provider(
                *PLACEHOLDER, {"step": step.text.split("\n")[0], "line": step.origin.line}
            ),
        }
    rule, implied = chosen
    arguments = {**DRAFT_ARGUMENTS.get(rule.name, {}), **implied}
    return {
        "type": "probe" if rule.probe else "action",
        "name": f"L{step.origin.line}-{_slug(label)}",
        "tags": [phase.value],
        "provider": _provider(rule.module, rule.func, arguments),
    }


def _source_experiment(scenario: Scenario, directory: Path) -> dict[str, Any] | None:
    tag = f"runbook:scenario-{scenario.number}"
    for found in scenarios(directory):
        data = load_mapping(found.path, "experiment")
        if tag in [str(t) for t in data.get("tags") or []]:
            data["__source__"] = found.path.name
            return data
    return None


def _fault(source: dict[str, Any] | None) -> list[dict[str, Any]]:
    if source is not None:
        faults = [a for a in source.get("method") or [] if "fault" in (a.get("tags") or [])]
        if faults:
            return copy.deepcopy(faults)
    return [
        {
            "type": "probe",
            "name": "TODO-inject-the-fault",
            "tags": ["fault", "placeholder"],
            "provider": _provider(*PLACEHOLDER, {"step": "inject the scenario's fault"}),
        }
    ]


def scaffold(
    runbook: Runbook, scenario_name: str, directory: Path = EXPERIMENTS_DIR
) -> dict[str, Any]:
    """The draft experiment for one scenario (see the module docstring)."""
    scenario = runbook.scenario(scenario_name)
    source = _source_experiment(scenario, directory)
    detection = scenario.phase(PhaseKind.DETECTION)
    signals = "; ".join(detection.bullets) if detection else "none stated"
    configuration: dict[str, Any] = {
        "drills_target": {"type": "env", "key": "DRILLS_TARGET", "default": "sandbox"}
    }
    if source is not None:
        configuration.update(copy.deepcopy(source.get("configuration") or {}))
    for objective in runbook.objectives:
        if objective.field is not None and not isinstance(objective.value, bool):
            configuration[f"runbook_{objective.field}"] = objective.value
    method = _fault(source)
    for phase in scenario.phases:  # in the runbook's order, whatever the phase is called
        method.extend(_activity(step, phase.kind) for step in phase.steps)
    rollbacks = copy.deepcopy((source or {}).get("rollbacks")) or [
        {
            "type": "action",
            "name": "ensure-everything-runs",
            "provider": _provider(
                "drills.actions.components",
                "ensure_running",
                {"components": ["postgres", "redis", "control-plane"]},
            ),
        }
    ]
    fault_from = f"the fault of experiments/{source['__source__']}" if source else "a TODO fault"
    where = runbook.path.name if runbook.path else "the runbook"
    return {
        "version": "1.0.0",
        "title": f"{scenario.key}: {scenario.title} (draft from the runbook)",
        "description": (
            f"Drafted by `drills runbook scaffold` from {where}, {scenario.key} (line "
            f"{scenario.line}), with {fault_from}. Detection signals: {signals}. Activities "
            "named TODO-... are runbook steps with no probe or action yet: replace them."
        ),
        "tags": [f"runbook:scenario-{scenario.number}", "draft"],
        "configuration": configuration,
        "controls": [
            {
                "name": "drills-measurement",
                "provider": {
                    "type": "python",
                    "module": "drills.control",
                    "arguments": {"scenario": f"draft-scenario-{scenario.number}"},
                },
            }
        ],
        "steady-state-hypothesis": {
            "title": f"None of the detection signals: {signals}",
            "probes": [
                {
                    "type": "probe",
                    "name": name,
                    "tolerance": True,
                    "provider": _provider(module, func, {}),
                }
                for name, module, func in STEADY_STATE
            ],
        },
        "method": method,
        "rollbacks": rollbacks,
    }


def scaffold_yaml(runbook: Runbook, scenario_name: str, directory: Path = EXPERIMENTS_DIR) -> str:
    draft = scaffold(runbook, scenario_name, directory)
    header = (
        f"# Draft experiment for {draft['title']}.\n"
        "# Activities named TODO-... are placeholders (drills.probes.runbook.manual_step): the runbook\n"
        "# step is kept in order but nothing is done. Replace them before trusting the drill.\n"
    )
    return header + yaml.safe_dump(draft, sort_keys=False, width=100, allow_unicode=True)
