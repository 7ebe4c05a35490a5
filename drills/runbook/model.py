"""What a runbook says, as data: scenarios and their phases, steps, objectives, cadence, setting.

The reader builds these from Markdown; the check, the coverage map and the scaffold read them.
Nothing here parses or talks to a target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from drills.errors import RunbookError
from drills.runbook.steps import Step

__all__ = ["CadenceEntry", "Fact", "Phase", "PhaseKind", "Runbook", "RunbookObjective", "Scenario"]


class PhaseKind(StrEnum):
    """The parts of a scenario, by the first word of their heading."""

    DETECTION = "detection"
    IMMEDIATE = "immediate"
    RECOVERY = "recovery"
    VERIFICATION = "verification"
    OTHER = "other"


@dataclass(frozen=True)
class Fact:
    """A `**Label**: value` bullet (inline code shown as its text)."""

    section: str
    label: str
    value: str
    line: int


@dataclass(frozen=True)
class RunbookObjective:
    """An objective the runbook states, and the `ObjectiveTargets` field it corresponds to."""

    label: str
    text: str
    line: int
    field: str | None  # None: drills has no such objective (MTBF, availability)
    value: float | bool | None  # seconds, a fraction, or True for "breakers CLOSED"

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "text": self.text,
            "line": self.line,
            "field": self.field,
            "value": self.value,
        }


@dataclass(frozen=True)
class CadenceEntry:
    """A drill cadence line: `**Monthly**: Database failover testing`."""

    cadence: str  # monthly, quarterly, semi-annual, annual (as drills.cadence names them)
    what: str
    line: int


@dataclass(frozen=True)
class Phase:
    kind: PhaseKind
    title: str
    line: int
    bullets: tuple[str, ...] = ()  # detection signals, or prose items
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Scenario:
    key: str  # "Scenario 2"
    title: str  # "Database Connection Issues"
    line: int
    phases: tuple[Phase, ...] = ()

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(step for phase in self.phases for step in phase.steps)

    def phase(self, kind: PhaseKind) -> Phase | None:
        return next((p for p in self.phases if p.kind is kind), None)

    @property
    def number(self) -> str:
        return self.key.split()[-1] if len(self.key.split()) > 1 else self.key

    def matches(self, name: str) -> bool:
        """`Scenario 2`, `2`, the title or the whole heading, in any case."""
        wanted = " ".join(name.lower().split())
        candidates = {self.key.lower(), self.title.lower(), self.number.lower()}
        candidates.add(f"{self.key}: {self.title}".lower())
        return wanted in candidates


@dataclass(frozen=True)
class Runbook:
    path: Path | None
    title: str
    scenarios: tuple[Scenario, ...]
    steps: tuple[Step, ...]  # every step in the document, in order (scenarios included)
    objectives: tuple[RunbookObjective, ...] = ()
    cadence: tuple[CadenceEntry, ...] = ()
    facts: tuple[Fact, ...] = ()
    text_blocks: int = 0  # fenced blocks without a shell language (templates): not commands
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def namespace(self) -> str | None:
        """The namespace the runbook says it works in (`**Namespace**: ...`)."""
        return self.environment.get("namespace")

    @property
    def service_url(self) -> str | None:
        """The service's public base URL (`**Load Balancer**: ...`)."""
        return self.environment.get("load balancer")

    def scenario(self, name: str) -> Scenario:
        for scenario in self.scenarios:
            if scenario.matches(name):
                return scenario
        known = ", ".join(f"{s.key} ({s.title})" for s in self.scenarios)
        raise RunbookError(f"no scenario {name!r} in the runbook (known: {known})")
