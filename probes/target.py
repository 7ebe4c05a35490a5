"""Probes answered by the target driver: component status and logs (runbook: kubectl get/logs)."""

from __future__ import annotations

from typing import Any

from drills.targets.base import Component
from drills.targets.registry import target_from

__all__ = ["component_logs", "target_status"]


def target_status(
    configuration: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every component's state, pids or pods, and address."""
    return target_from(configuration).status()


def component_logs(
    component: str,
    lines: int = 100,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> str:
    """The tail of one component's logs."""
    return target_from(configuration).logs(Component(component), lines)
