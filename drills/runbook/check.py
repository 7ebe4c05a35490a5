"""`drills runbook check`: every step and objective of a runbook against one target, read-only.

A step whose names hold a shell variable or a placeholder (`-n $NS`, `logs <pod-name>`) is not
checked: a person fills them in when running the commands. Every other step goes to the checker
of its kind (kubectl → the target's `Inventory`, HTTP → the `ServiceChecker`, scripts → the
disk) and each stated objective is compared with the thresholds drills holds drills to on that
target. The result is one row per step and objective.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drills.controlplane.connection import Connection, Endpoint
from drills.objectives import ObjectiveTargets
from drills.runbook.findings import Answer, CheckReport, Finding, cannot
from drills.runbook.inventory import Inventory, check_kubectl
from drills.runbook.local import check_objective, check_script
from drills.runbook.model import Runbook
from drills.runbook.service_check import ServiceChecker
from drills.runbook.steps import HttpStep, KubectlStep, ScriptStep, Step, UnknownStep
from drills.targets.registry import SpecKind, parse_spec

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from drills.targets.kubernetes.profile import KubernetesProfile
    from drills.targets.sandbox.driver import SandboxTarget

__all__ = [
    "CheckTarget",
    "check_runbook",
    "open_check_target",
    "profile_check_target",
    "sandbox_check_target",
]

HTTP_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class CheckTarget:
    """What a check reads on one target."""

    name: str
    inventory: Inventory
    service: Endpoint  # the control plane's URL and TLS trust
    objectives: ObjectiveTargets
    objectives_source: str  # "profile" or "drills defaults"
    known_routes: tuple[str, ...] = ()  # the service's routes, when known (for "did you mean")


def _looked_up(step: Step) -> tuple[str, ...]:
    """The words of a step the check would look up on the target (names, URL, path)."""
    if isinstance(step, KubectlStep):
        names = tuple(ref.name or "" for ref in step.objects)
        return (step.namespace or "", *names, step.selector_text or "", *step.files)
    if isinstance(step, HttpStep):
        return (step.url,)
    if isinstance(step, ScriptStep):
        return (step.path,)
    return ()


_CLOSING = {"${": "}", "$(": ")"}


def _fill_in_at(word: str, start: int) -> str | None:
    """The shell expansion (`$NAME`, `${NAME}`, `$(command)`) or `<name>` placeholder that starts
    at `start`, else None."""
    if word[start] == "<":
        end = word.find(">", start + 2)
        return None if end == -1 else word[start : end + 1]
    closing = _CLOSING.get(word[start : start + 2])
    if closing is not None:
        end = word.find(closing, start)
        return word[start:] if end == -1 else word[start : end + 1]
    end = start + 1
    while end < len(word) and (word[end].isalnum() or word[end] == "_"):
        end += 1
    return word[start:end] if end > start + 1 else None


def _fill_ins(words: tuple[str, ...]) -> list[str]:
    """What a person fills in when running the commands: shell expansions and placeholders."""
    found = [
        fill_in
        for word in words
        for start, char in enumerate(word)
        if char in "$<" and (fill_in := _fill_in_at(word, start)) is not None
    ]
    return list(dict.fromkeys(found))


def _answer(
    step: Step, target: CheckTarget, service: ServiceChecker, scripts_dir: Path | None
) -> Answer:
    fill_ins = _fill_ins(_looked_up(step))
    if fill_ins:  # `-n $NS`: the namespace is whatever NS holds then
        named = ", ".join(
            f"{'placeholder' if word.startswith('<') else 'shell variable'} {word}"
            for word in fill_ins
        )
        return cannot(f"{named}: filled in when the commands run, not looked up")
    if isinstance(step, KubectlStep):
        return check_kubectl(step, target.inventory, scripts_dir)
    if isinstance(step, HttpStep):
        return service.check(step, target.inventory.absent(step.url))
    if isinstance(step, ScriptStep):
        return check_script(step, scripts_dir)
    assert isinstance(step, UnknownStep)
    return cannot(f"unknown command: {step.reason}")


def check_runbook(
    runbook: Runbook, target: CheckTarget, *, scripts_dir: Path | None = None
) -> CheckReport:
    """One finding per step and stated objective (see the module docstring)."""
    rows: list[Finding] = []
    http = Connection(target.service, HTTP_TIMEOUT_SECONDS, user_agent="drills-runbook-check")
    try:
        service = ServiceChecker(http, runbook.service_url, target.known_routes)
        for step in runbook.steps:
            answer = _answer(step, target, service, scripts_dir)
            rows.append(
                Finding(
                    step.origin.line,
                    step.kind.value,
                    step.subject(),
                    answer.status,
                    answer.detail,
                    answer.suggestion,
                )
            )
    finally:
        http.close()
    for objective in runbook.objectives:
        answer = check_objective(objective, target.objectives, target.objectives_source)
        subject = f"{objective.label}: {objective.text}"
        rows.append(Finding(objective.line, "objective", subject, answer.status, answer.detail))
    rows.sort(key=lambda f: f.line)
    where = str(runbook.path) if runbook.path else "runbook"
    return CheckReport(where, target.name, tuple(rows))


def _quiet(line: str) -> None:
    """Progress nobody asked to see."""


@contextlib.contextmanager
def open_check_target(
    spec_text: str,
    runbook: Runbook,
    *,
    allow_production: bool = False,
    say: Callable[[str], None] = _quiet,
) -> Iterator[CheckTarget]:
    """The target a check reads: a fresh sandbox (started and stopped here, its progress told to
    `say`), a running one (`sandbox:DIR`), or a Kubernetes profile."""
    spec = parse_spec(spec_text)
    if spec.kind is SpecKind.PROFILE:
        from drills.targets.kubernetes.client import connection_for
        from drills.targets.kubernetes.profile import load_profile

        assert spec.path is not None
        profile = load_profile(spec.path)
        api_client: Any = connection_for(profile.cluster).api_client()  # close() is untyped
        try:
            yield profile_check_target(
                profile, api_client, runbook, allow_production=allow_production
            )
        finally:
            api_client.close()
        return
    from drills.targets.sandbox.driver import SandboxTarget

    if spec.kind is SpecKind.SANDBOX_DIR:
        assert spec.path is not None
        target = SandboxTarget(spec.path)
        target.sandbox.state()  # a clear error when no sandbox lives there
        yield sandbox_check_target(target, runbook)
        return
    from drills.targets.sandbox.fresh import fresh_sandbox

    with fresh_sandbox(say) as fresh:
        yield sandbox_check_target(fresh, runbook)


def sandbox_check_target(target: SandboxTarget, runbook: Runbook) -> CheckTarget:
    """A check target for a running sandbox: its names, URL, routes and drills' defaults."""
    from drills.runbook.sandbox_names import SandboxInventory
    from drills.targets.sandbox.service.graphql_api import GRAPHQL_ROUTES
    from drills.targets.sandbox.service.routes_data import DATA_ROUTES
    from drills.targets.sandbox.service.routes_ops import OPS_ROUTES

    return CheckTarget(
        target.name,
        SandboxInventory(target, runbook.namespace),
        Endpoint.of(target),
        ObjectiveTargets(),
        "drills defaults",
        tuple(route.path for route in (*OPS_ROUTES, *DATA_ROUTES, *GRAPHQL_ROUTES)),
    )


def profile_check_target(
    profile: KubernetesProfile,
    api_client: ApiClient,
    runbook: Runbook,
    *,
    allow_production: bool = False,
) -> CheckTarget:
    """A check target for a loaded profile and API client (tests pass their own client)."""
    from drills.runbook.cluster_names import ClusterInventory

    inventory = ClusterInventory(
        profile, api_client, runbook.namespace, allow_production=allow_production
    )
    service = Endpoint(profile.control_plane_url, profile.control_plane_tls)
    return CheckTarget(profile.name, inventory, service, profile.objectives, "profile")
