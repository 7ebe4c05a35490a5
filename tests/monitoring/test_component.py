"""The sandbox's monitoring component: managed like the others, and scraping every replica."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import psutil
import pytest

from drills.controlplane.connection import Connection, Endpoint
from drills.monitoring.api import PrometheusAPI
from drills.targets.base import Component
from drills.targets.sandbox.driver import SandboxTarget
from drills.targets.sandbox.monitoring import JOB, missing_packages
from tests.conftest import running_sandbox
from tests.monitoring.support import needs_monitoring

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _replica_of(metrics: bytes) -> set[str]:
    return set(re.findall(r'replica="(\d+)"', metrics.decode()))


@needs_monitoring
def test_every_replica_is_scraped_on_a_port_of_its_own(sandbox_target: SandboxTarget) -> None:
    """The replicas share the service port, so a scrape there lands on whichever replica the
    kernel picks; each replica's own metrics port always answers as that replica."""
    layout_targets = sandbox_target.sandbox.monitoring().targets_file
    groups = json.loads(layout_targets.read_text())
    replicas = sandbox_target.replicas(Component.CONTROL_PLANE)
    assert len(groups) == replicas >= 2
    for group in groups:
        client = Connection(Endpoint(f"http://{group['targets'][0]}"), 3.0, user_agent="test")
        try:
            seen = {
                frozenset(_replica_of(client.request("GET", "/metrics").content)) for _ in range(5)
            }
        finally:
            client.close()
        assert seen == {frozenset({group["labels"]["replica"]})}
    prometheus = PrometheusAPI(sandbox_target.monitoring_endpoints().prometheus_url)
    try:
        deadline = time.monotonic() + 45  # the runbook's pace scrapes every 15 s
        while prometheus.healthy_targets(JOB) < replicas and time.monotonic() < deadline:
            time.sleep(0.5)
        assert prometheus.healthy_targets(JOB) == replicas
    finally:
        prometheus.close()


@needs_monitoring
def test_status_logs_and_restart(sandbox_target: SandboxTarget) -> None:
    sandbox = sandbox_target.sandbox
    before = sandbox.status()["components"]["monitoring"]
    assert before["state"] == "running"
    assert len(before["pids"]) == 3
    logs = sandbox.logs(Component.MONITORING)
    for name in ("prometheus", "alertmanager", "receiver"):
        assert f"monitoring-{name}.log" in logs
    sandbox.restart(Component.MONITORING)
    after = sandbox.status()["components"]["monitoring"]
    assert after["state"] == "running"
    assert not set(after["pids"]) & set(before["pids"])
    assert not any(psutil.pid_exists(pid) for pid in before["pids"])
    assert PrometheusAPI(sandbox_target.monitoring_endpoints().prometheus_url).ready()


@needs_monitoring
def test_down_leaves_no_monitoring_process_behind() -> None:
    with running_sandbox("drills-test-monitoring-") as target:
        pids = target.sandbox.status()["components"]["monitoring"]["pids"]
        assert len(pids) == 3
        target.sandbox.down()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in pids)
        assert target.sandbox.status()["components"]["monitoring"]["pids"] == []


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_without_the_packages_monitoring_is_unavailable_and_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing installed here
    reason = missing_packages()
    assert reason is not None
    assert "prometheus prometheus-alertmanager" in reason
