"""Crash, restart and scale the runbook's components; wait for the service to be whole again."""

from __future__ import annotations

import time
from typing import Any

from chaoslib.exceptions import ActivityFailed

from drills.errors import DrillError
from drills.probes.http import graphql_answers_healthy, healthy_replica
from drills.targets.base import Component, FreezeFaults, Target
from drills.targets.registry import target_from

__all__ = [
    "ensure_running",
    "freeze_components",
    "kill_components",
    "restart_component",
    "scale_component",
    "thaw_components",
    "wait_until_healthy",
]

Configuration = dict[str, Any]


def _component(name: str) -> Component:
    try:
        return Component(name)
    except ValueError:
        known = ", ".join(c.value for c in Component)
        raise ActivityFailed(f"unknown component {name!r} (known: {known})") from None


def _absent(target: Target, names: list[str], skip_absent: bool) -> list[str]:
    """Of `names`, the components this target does not run, when the step may skip them (a
    cluster whose profile names no graph store); none otherwise, so a missing one fails."""
    if not skip_absent:
        return []
    try:
        present = set(target.status().get("components") or {})
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    return [name for name in names if _component(name).value not in present]


def kill_components(
    components: list[str],
    skip_absent: bool = False,
    configuration: Configuration | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Crash every process (pod) of each component for real: SIGKILL, no grace. With
    `skip_absent`, components the target does not run are skipped and listed (`not_run_here`)."""
    target = target_from(configuration)
    absent = _absent(target, components, skip_absent)
    killed: dict[str, Any] = {}
    try:
        for name in components:
            if name not in absent:
                killed[name] = target.kill(_component(name))
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    return {**killed, "not_run_here": absent} if absent else killed


def _freezing(configuration: Configuration | None) -> FreezeFaults:
    target = target_from(configuration)
    if not isinstance(target, FreezeFaults):
        raise ActivityFailed(f"target {target.name} cannot freeze processes")
    return target


def freeze_components(
    components: list[str],
    seconds: float,
    configuration: Configuration | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Freeze every process of each component for `seconds` (SIGSTOP, then SIGCONT): a hang,
    not a crash. Requests are accepted and queue until the thaw. Returns how long it was frozen.
    """
    target = _freezing(configuration)
    names = [_component(name) for name in components]
    frozen: list[Component] = []
    started = time.monotonic()
    try:
        for component in names:
            target.freeze(component)
            frozen.append(component)
        time.sleep(max(0.0, float(seconds)))
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    finally:  # whatever happens (Ctrl-C included), nothing stays frozen
        for component in frozen:
            target.thaw(component)
    return {"components": components, "frozen_seconds": round(time.monotonic() - started, 3)}


def thaw_components(
    components: list[str],
    configuration: Configuration | None = None,
    secrets: dict[str, Any] | None = None,
) -> list[str]:
    """Let every process of each component run again (a rollback after a freeze)."""
    target = _freezing(configuration)
    try:
        for name in components:
            target.thaw(_component(name))
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    return components


def restart_component(
    component: str,
    timeout_seconds: float = 120.0,
    skip_absent: bool = False,
    configuration: Configuration | None = None,
    secrets: dict[str, Any] | None = None,
) -> str:
    """Restart a component (runbook: rollout restart) and wait until it is ready. With
    `skip_absent`, a component the target does not run is skipped (and said so)."""
    if _absent(target_from(configuration), [component], skip_absent):
        return f"{component} is not run by this target: skipped"
    try:
        target_from(configuration).restart(_component(component), timeout_seconds=timeout_seconds)
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    return f"{component} restarted"


def scale_component(
    component: str,
    replicas: int,
    configuration: Configuration | None = None,
    secrets: dict[str, Any] | None = None,
) -> int:
    """Run exactly `replicas` instances of a stateless component (runbook: kubectl scale)."""
    try:
        target_from(configuration).scale(_component(component), int(replicas))
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    return int(replicas)


def wait_until_healthy(
    timeout_seconds: float = 120.0,
    interval_seconds: float = 0.1,
    configuration: Configuration | None = None,
    secrets: dict[str, Any] | None = None,
) -> float:
    """Wait until every control-plane replica answers /health and GraphQL healthCheck passes.

    Each probe is a new connection, so the load balancer (SO_REUSEPORT, a Service) picks a replica;
    replicas that name themselves are counted one by one, others by consecutive successes.
    Returns the seconds waited.
    """
    target = target_from(configuration)
    started = time.monotonic()
    deadline = started + timeout_seconds
    seen: set[str] = set()
    streak = 0
    while time.monotonic() < deadline:
        replica = healthy_replica(1.0, configuration)
        if replica is None or not graphql_answers_healthy(1.0, configuration):
            seen.clear()
            streak = 0
        else:
            seen.add(replica)
            streak += 1
            wanted = max(1, target.replicas(Component.CONTROL_PLANE))
            named = replica != ""
            if (named and len(seen - {""}) >= wanted) or (not named and streak > 2 * wanted):
                return round(time.monotonic() - started, 3)
            continue  # ask again at once: another connection may reach another replica
        time.sleep(interval_seconds)
    raise ActivityFailed(f"service not healthy on every replica after {timeout_seconds:.0f} s")


def ensure_running(
    components: list[str],
    timeout_seconds: float = 120.0,
    skip_absent: bool = False,
    configuration: Configuration | None = None,
    secrets: dict[str, Any] | None = None,
) -> list[str]:
    """Restart only the components that are not ready (a rollback that never breaks a healthy
    one); with `skip_absent`, components the target does not run are left out."""
    target = target_from(configuration)
    restarted: list[str] = []
    absent = _absent(target, components, skip_absent)
    for name in components:
        if name in absent:
            continue
        component = _component(name)
        try:
            target.wait_ready(component, timeout_seconds=0.5)
            continue
        except DrillError:
            pass
        try:
            target.restart(component, timeout_seconds=timeout_seconds)
        except DrillError as exc:
            raise ActivityFailed(str(exc)) from exc
        restarted.append(name)
    return restarted
