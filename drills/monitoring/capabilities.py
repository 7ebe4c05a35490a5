"""What a target must offer for the monitoring drill, as capability protocols.

A target with monitoring tells where its Prometheus and Alertmanager answer (and, on the sandbox,
the file its webhook receiver writes); a target that can inject HTTP faults fails or slows a share
of the control plane's requests, as a service mesh's fault injection does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from drills.monitoring.rules import RuleSet
    from drills.monitoring.timing import Timing

__all__ = ["HttpFaultTarget", "MonitoredTarget", "MonitoringEndpoints"]


@dataclass(frozen=True)
class MonitoringEndpoints:
    """Where a drill reads alerts: Prometheus, Alertmanager, and the webhook log (sandbox only;
    elsewhere notifications are read from Alertmanager's API)."""

    prometheus_url: str
    alertmanager_url: str
    notifications_path: Path | None = None


@runtime_checkable
class MonitoredTarget(Protocol):
    def monitoring_endpoints(self) -> MonitoringEndpoints:
        """Prometheus and Alertmanager of this target; `TargetError` when it has none."""
        ...

    def configure_monitoring(self, timing: Timing, ruleset: RuleSet) -> None:
        """Run the monitoring at `timing`'s pace with these rules (in force on return)."""
        ...


@runtime_checkable
class HttpFaultTarget(Protocol):
    def set_http_faults(self, abort_share: float, delay_seconds: float) -> None:
        """Answer `abort_share` of requests 500 and delay each by `delay_seconds` (0, 0: none)."""
        ...
