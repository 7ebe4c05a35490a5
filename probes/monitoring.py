"""Probes of the target's alerting (runbook: test-monitoring-alerts)."""

from __future__ import annotations

from typing import Any

from chaoslib.exceptions import ActivityFailed

from drills.errors import DrillError
from drills.monitoring.capabilities import MonitoredTarget
from drills.monitoring.proof import AlertReader
from drills.targets.registry import target_from

__all__ = ["alerts_firing", "no_alert_firing"]


def alerts_firing(
    configuration: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None
) -> list[str]:
    """Names of the alerts Prometheus has firing now (pending ones are not counted)."""
    target = target_from(configuration)
    if not isinstance(target, MonitoredTarget):
        raise ActivityFailed(f"{target.name} has no monitoring (Prometheus + Alertmanager)")
    try:
        reader = AlertReader(target.monitoring_endpoints())
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    try:
        return sorted(name for name, state in reader.active().items() if state == "firing")
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    finally:
        reader.close()


def no_alert_firing(
    configuration: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None
) -> bool:
    """True when no alert fires: the steady state of a monitored system."""
    return not alerts_firing(configuration, secrets)
