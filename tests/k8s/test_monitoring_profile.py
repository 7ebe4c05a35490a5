"""A Kubernetes profile's `monitoring: {prometheus, alertmanager}`: the drill reads the cluster's
own Prometheus and Alertmanager and installs nothing; bad settings are one clear line."""

from __future__ import annotations

import re
from typing import Any

import pytest

from drills.errors import MonitoringError, ProfileError, TargetError
from drills.monitoring.capabilities import MonitoredTarget
from drills.monitoring.rules import load_rules
from drills.monitoring.timing import REAL, Timing
from drills.targets.kubernetes.driver import KubernetesTarget
from drills.targets.kubernetes.profile import parse_profile
from drills.targets.sandbox.driver import SandboxTarget
from tests.k8s import objects as o
from tests.k8s.kube_server import KubeServer
from tests.monitoring.support import needs_monitoring


def _profile(monitoring: Any = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "kubernetes",
        "name": "tiny",
        "kubernetes": {"namespace": o.NS},
        "components": {"control-plane": "deployment/maestro-control-plane"},
        "services": {"control_plane": "http://127.0.0.1:9"},
    }
    if monitoring is not None:
        data["monitoring"] = monitoring
    return data


def test_monitoring_urls_are_read_and_checked() -> None:
    profile = parse_profile(
        _profile({"prometheus": "http://prom:9090/", "alertmanager": "http://am:9093"})
    )
    assert profile.monitoring is not None
    assert profile.monitoring.prometheus_url == "http://prom:9090"
    with pytest.raises(ProfileError, match=r"monitoring\.prometheus"):
        parse_profile(_profile({"prometheus": "ftp://prom", "alertmanager": "http://am"}))
    with pytest.raises(ProfileError, match="monitoring"):
        parse_profile(_profile({"prometheus": "http://prom"}))
    with pytest.raises(ProfileError, match="grafana"):
        parse_profile(
            _profile({"prometheus": "http://p", "alertmanager": "http://a", "grafana": 1})
        )


def test_a_profile_without_monitoring_says_what_to_add(cluster: KubeServer) -> None:
    driver = KubernetesTarget(parse_profile(_profile()), cluster.api_client())
    assert isinstance(driver, MonitoredTarget)
    with pytest.raises(
        TargetError, match=re.escape("monitoring: {prometheus: URL, alertmanager: URL}")
    ):
        driver.monitoring_endpoints()


@needs_monitoring
def test_the_clusters_prometheus_must_run_every_rule_at_its_own_pace(
    cluster: KubeServer, sandbox_target: SandboxTarget
) -> None:
    """The sandbox's Prometheus stands in for a cluster's: it runs the shipped rules."""
    endpoints = sandbox_target.monitoring_endpoints()
    monitoring = {
        "prometheus": endpoints.prometheus_url,
        "alertmanager": endpoints.alertmanager_url,
    }
    driver = KubernetesTarget(parse_profile(_profile(monitoring)), cluster.api_client())
    assert driver.monitoring_endpoints().notifications_path is None  # read from Alertmanager
    driver.configure_monitoring(REAL, load_rules())
    with pytest.raises(TargetError, match="time scale 1"):
        driver.configure_monitoring(Timing.at_scale(0.05), load_rules())
    unreachable = {"prometheus": "http://127.0.0.1:9", "alertmanager": "http://127.0.0.1:9"}
    driver = KubernetesTarget(parse_profile(_profile(unreachable)), cluster.api_client())
    with pytest.raises(MonitoringError, match=r"Prometheus at http://127\.0\.0\.1:9 does not"):
        driver.configure_monitoring(REAL, load_rules())
