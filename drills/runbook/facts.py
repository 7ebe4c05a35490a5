"""Reading numbers out of a runbook's prose bullets: objectives, cadence, the environment.

The runbook writes "**RTO (Recovery Time Objective)**: 15 minutes for critical services" and
"**Monthly**: Database failover testing"; this module maps those labels to the objective and
cadence names the rest of drills uses, and reads the first quantity from the value by words
(durations through `drills.objectives.parse_duration_seconds`, percentages as fractions).
"""

from __future__ import annotations

from collections.abc import Sequence

from drills.objectives import parse_duration_seconds, parse_fraction
from drills.runbook.model import CadenceEntry, Fact, RunbookObjective

__all__ = ["cadence_entries", "environment", "first_quantity", "objectives"]

# label (lower case, its first words) → ObjectiveTargets field; None: drills has none.
_OBJECTIVE_LABELS: tuple[tuple[str, str | None], ...] = (
    ("rto", "rto_seconds"),
    ("rpo", "rpo_seconds"),
    ("mttr", "mttr_seconds"),
    ("mtbf", None),
    ("response time", "p95_latency_seconds"),
    ("error rate", "error_rate"),
    ("database connections", "db_pool_utilisation"),
    ("circuit breaker states", "breakers_closed_after_recovery"),
    ("availability", None),
)
_CADENCES = {
    "monthly": "monthly",
    "quarterly": "quarterly",
    "semi-annually": "semi-annual",
    "semi-annual": "semi-annual",
    "annually": "annual",
    "annual": "annual",
    "weekly": "weekly",
    "daily": "daily",
}
_ENVIRONMENT_LABELS = ("kubernetes cluster", "namespace", "load balancer", "monitoring")


def first_quantity(text: str) -> float | None:
    """The first duration (seconds) or percentage (fraction) in `text`, by words."""
    words = text.replace("<", " ").replace(">", " ").replace("(", " ").split()
    for index, word in enumerate(words):
        if word.endswith("%"):
            try:
                return parse_fraction(word)
            except ValueError:
                continue
        candidates = [word]
        if index + 1 < len(words):
            candidates.insert(0, f"{word} {words[index + 1]}")
        for candidate in candidates:
            if not candidate[0].isdigit():
                break
            try:
                return parse_duration_seconds(candidate.rstrip(".,;"))
            except ValueError:
                continue
    return None


def _objective_field(label: str) -> tuple[bool, str | None]:
    lowered = label.lower()
    for prefix, name in _OBJECTIVE_LABELS:
        if lowered.startswith(prefix):
            return True, name
    return False, None


def objectives(facts: Sequence[Fact]) -> tuple[RunbookObjective, ...]:
    out: list[RunbookObjective] = []
    for fact in facts:
        known, name = _objective_field(fact.label)
        if not known:
            continue
        value: float | bool | None
        if name == "breakers_closed_after_recovery":
            value = "closed" in fact.value.lower()
        elif name == "p95_latency_seconds":
            value = first_quantity(fact.value.lower().replace("95th percentile", ""))
        else:
            value = first_quantity(fact.value)
        out.append(RunbookObjective(fact.label, fact.value, fact.line, name, value))
    return tuple(out)


def cadence_entries(facts: Sequence[Fact]) -> tuple[CadenceEntry, ...]:
    return tuple(
        CadenceEntry(_CADENCES[fact.label.lower()], fact.value, fact.line)
        for fact in facts
        if fact.label.lower() in _CADENCES
    )


def environment(facts: Sequence[Fact]) -> dict[str, str]:
    """Namespace, cluster, load balancer URL: the first value of each label."""
    out: dict[str, str] = {}
    for fact in facts:
        label = fact.label.lower()
        if label in _ENVIRONMENT_LABELS and label not in out:
            out[label] = fact.value.strip().rstrip("/")
    return out
