"""The typed steps a runbook's shell blocks hold: kubectl verbs, HTTP calls, scripts, the unknown.

One command line of a fenced block becomes one step. Each keeps where it came from (line, the
comment above it, the raw text) so that a check, a coverage map or a draft can point back at the
runbook line a person would read during an incident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "HttpStep",
    "KubectlStep",
    "ObjectRef",
    "ScriptStep",
    "Step",
    "StepKind",
    "StepOrigin",
    "UnknownStep",
]

MUTATING_HTTP_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READ_ONLY_KUBECTL_VERBS = frozenset({"get", "describe", "logs", "top", "explain", "events"})


class StepKind(StrEnum):
    KUBECTL = "kubectl"
    HTTP = "http"
    SCRIPT = "script"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class StepOrigin:
    """Where a step stands in the runbook."""

    line: int  # 1-based line of the command's first line
    section: str  # the nearest heading's text
    scenario: str | None = None  # "Scenario 2" when inside one
    phase: str | None = None  # a `Phase` value when inside a scenario's phase
    item: str | None = None  # the numbered item's title ("Check database status")
    note: str | None = None  # the shell comment just above the command

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "section": self.section,
            "scenario": self.scenario,
            "phase": self.phase,
            "item": self.item,
            "note": self.note,
        }


@dataclass(frozen=True)
class ObjectRef:
    """A Kubernetes object as a command names it (`deployment/redis`, `pod postgresql-0`)."""

    kind: str  # singular, lower case: deployment, statefulset, pod, service, ...
    name: str | None = None  # None: every object of the kind

    def __str__(self) -> str:
        return self.kind if self.name is None else f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Step:
    """Fields every step has; see the subclasses for what each kind adds."""

    origin: StepOrigin
    text: str  # the command as written (continuations joined, heredoc body left out)
    argv: tuple[str, ...]
    pipeline: tuple[tuple[str, ...], ...] = ()  # commands its output is piped into

    kind: StepKind = field(default=StepKind.UNKNOWN, init=False)

    @property
    def mutating(self) -> bool:
        """Whether running it would change the target (checks never run mutating steps)."""
        return True

    def subject(self) -> str:
        """A short name for tables: what the step acts on."""
        return self.text

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "text": self.text,
            "argv": list(self.argv),
            "pipeline": [list(p) for p in self.pipeline],
            "origin": self.origin.to_json(),
            "mutating": self.mutating,
        }


@dataclass(frozen=True)
class KubectlStep(Step):
    verb: str = ""
    subverb: str | None = None  # `rollout restart` → "restart"
    objects: tuple[ObjectRef, ...] = ()
    namespace: str | None = None
    selector: tuple[tuple[str, str], ...] = ()  # equality terms, in order
    selector_text: str | None = None
    files: tuple[str, ...] = ()  # `apply -f FILE` (never "-")
    manifest: str | None = None  # the heredoc body of `apply -f - <<EOF`
    replicas: str | None = None
    container: str | None = None
    exec_command: tuple[str, ...] = ()

    kind: StepKind = field(default=StepKind.KUBECTL, init=False)

    @property
    def mutating(self) -> bool:
        if self.verb == "rollout":
            return self.subverb not in ("status", "history")
        return self.verb not in READ_ONLY_KUBECTL_VERBS

    def subject(self) -> str:
        parts = [" ".join(p for p in (self.verb, self.subverb) if p)]
        parts += [str(o) for o in self.objects]
        if self.selector_text:
            parts.append(f"-l {self.selector_text}")
        parts += [f"-f {f}" for f in self.files]
        if self.manifest is not None:
            parts.append("-f - (inline manifest)")
        if self.namespace:
            parts.append(f"-n {self.namespace}")
        return "kubectl " + " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "verb": self.verb,
            "subverb": self.subverb,
            "objects": [{"kind": o.kind, "name": o.name} for o in self.objects],
            "namespace": self.namespace,
            "selector": dict(self.selector),
            "files": list(self.files),
            "manifest": self.manifest,
            "replicas": self.replicas,
        }


@dataclass(frozen=True)
class HttpStep(Step):
    method: str = "GET"
    url: str = ""
    body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    fail_on_error: bool = False  # curl -f

    kind: StepKind = field(default=StepKind.HTTP, init=False)

    @property
    def mutating(self) -> bool:
        return self.method in MUTATING_HTTP_METHODS

    def subject(self) -> str:
        return f"{self.method} {self.url}"

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "method": self.method,
            "url": self.url,
            "body": self.body,
            "headers": {name: value for name, value in self.headers},
        }


@dataclass(frozen=True)
class ScriptStep(Step):
    path: str = ""
    args: tuple[str, ...] = ()

    kind: StepKind = field(default=StepKind.SCRIPT, init=False)

    def subject(self) -> str:
        return " ".join((self.path, *self.args))

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "path": self.path, "args": list(self.args)}


@dataclass(frozen=True)
class UnknownStep(Step):
    reason: str = ""

    kind: StepKind = field(default=StepKind.UNKNOWN, init=False)

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "reason": self.reason}
