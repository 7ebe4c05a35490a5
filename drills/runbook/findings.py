"""What a runbook check found, row by row: ok, drift (what is wrong, what exists instead), or
cannot check here (and why).

One row per runbook step or stated objective. Only `drift` makes `drills runbook check` fail; a
step this target cannot answer (the sandbox has no ingress controller, no nodes) is said so, never guessed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "Answer",
    "CheckReport",
    "Finding",
    "Status",
    "cannot",
    "did_you_mean",
    "drift",
    "not_found",
    "ok",
]


class Status(StrEnum):
    OK = "ok"
    DRIFT = "drift"
    CANNOT_CHECK = "cannot check"


@dataclass(frozen=True)
class Finding:
    line: int
    kind: str  # kubectl, http, script, objective, unknown
    subject: str  # what the runbook says, shortly
    status: Status
    detail: str
    suggestion: str | None = None  # "did you mean ..." target, when one is close

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "kind": self.kind,
            "subject": self.subject,
            "status": self.status.value,
            "detail": self.detail,
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True)
class CheckReport:
    runbook: str
    target: str
    findings: tuple[Finding, ...]

    @property
    def drift(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status is Status.DRIFT)

    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for f in self.findings if f.status is s) for s in Status}

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "drills.runbook-check/v1",
            "runbook": self.runbook,
            "target": self.target,
            "counts": self.counts(),
            "findings": [f.to_json() for f in self.findings],
        }


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to `word` (difflib), or None when nothing is close."""
    pool: Sequence[str] = sorted(set(candidates) - {word})
    found = difflib.get_close_matches(word, pool, n=1, cutoff=0.5)
    return found[0] if found else None


def not_found(
    what: str, word: str, candidates: Iterable[str], where: str = ""
) -> tuple[str, str | None]:
    """("X not found[ in where]; did you mean Y?", Y) for a drift row."""
    suggestion = did_you_mean(word, candidates)
    place = f" {where}" if where else ""
    hint = f"; did you mean {suggestion}?" if suggestion else ""
    return f"{what} not found{place}{hint}", suggestion


@dataclass(frozen=True)
class Answer:
    status: Status
    detail: str
    suggestion: str | None = None


def ok(detail: str) -> Answer:
    return Answer(Status.OK, detail)


def cannot(detail: str) -> Answer:
    return Answer(Status.CANNOT_CHECK, detail)


def drift(detail: str, suggestion: str | None = None) -> Answer:
    return Answer(Status.DRIFT, detail, suggestion)
