"""End to end against a real cluster: k3s in Docker through testcontainers.

Runs wherever a Docker engine answers (CI runners usually have one); elsewhere it skips with
that reason. It drives a real Deployment through the runbook's steps and checks what the real
controllers and kubelet did, which the API emulator can only imitate.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from drills.clock import RunClock
from drills.models import Sample
from drills.targets.base import Component
from drills.targets.kubernetes.factory import open_target
from drills.targets.kubernetes.profile import parse_profile

NS = "drills-e2e"
LABELS = {"app": "e2e-web"}


def docker_problem() -> str | None:
    try:
        import docker  # type: ignore[import-untyped]  # docker ships no type information

        docker.from_env(timeout=3).ping()
    except Exception as exc:  # any failure means: no usable engine here
        return f"no Docker engine ({type(exc).__name__})"
    return None


PROBLEM = docker_problem()
pytestmark = [
    pytest.mark.k8s,
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(PROBLEM is not None, reason=PROBLEM or "no Docker engine"),
]


def create_workload(config_file: Path) -> None:
    from kubernetes import client
    from kubernetes import config as untyped_config

    config: Any = untyped_config  # kubernetes.config is untyped
    api = config.new_client_from_config(config_file=str(config_file))
    core: Any = client.CoreV1Api(api)  # dict bodies: the client turns them into models
    apps: Any = client.AppsV1Api(api)
    core.create_namespace({"metadata": {"name": NS}})
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {"containers": [{"name": "web", "image": "registry.k8s.io/pause:3.9"}]},
            },
        },
    }
    apps.create_namespaced_deployment(NS, deployment)
    api.close()


@pytest.mark.timeout(600)
def test_runbook_steps_on_k3s(tmp_path: Path) -> None:
    from testcontainers.community.k3s import K3SContainer

    with K3SContainer() as k3s:
        config_file = tmp_path / "kubeconfig"
        config_file.write_text(k3s.config_yaml())
        create_workload(config_file)
        profile = parse_profile(
            {
                "kind": "kubernetes",
                "name": "k3s-e2e",
                "environment": "test",
                "kubernetes": {"kubeconfig": str(config_file), "namespace": NS},
                "components": {"control-plane": "deployment/web"},
                "services": {"control_plane": "http://127.0.0.1:9"},
            }
        )
        target = open_target(profile)
        try:
            assert target.wait_ready(Component.CONTROL_PLANE, timeout_seconds=240) >= 0
            with target.lease(holder="e2e").keep_alive():
                target.restart(Component.CONTROL_PLANE, timeout_seconds=180)
                for replicas in (3, 0, 1):
                    target.scale(Component.CONTROL_PLANE, replicas, timeout_seconds=180)
                    assert target.replicas(Component.CONTROL_PLANE) <= max(replicas, 1) + 1
                samples: list[Sample] = []
                stop = threading.Event()
                clock = RunClock()
                watcher = threading.Thread(
                    target=lambda: samples.extend(
                        target.readiness_samples(
                            Component.CONTROL_PLANE,
                            clock,
                            timeout_seconds=180,
                            should_stop=stop.is_set,
                        )
                    ),
                    daemon=True,
                )
                watcher.start()
                time.sleep(1)
                killed_at = clock.now()
                assert target.kill_pods(Component.CONTROL_PLANE)
                target.wait_ready(Component.CONTROL_PLANE, timeout_seconds=180)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and not any(
                    s.ok and s.t > killed_at for s in samples
                ):
                    time.sleep(0.2)
                stop.set()
                watcher.join(10)
                recovered = [s for s in samples if s.ok and s.t > killed_at]
                assert recovered, samples
                assert recovered[0].t - killed_at < 120
                target.block_addresses(["203.0.113.9"])
                target.block_addresses([])
            assert "web" in str(target.snapshot()["deployments"])
        finally:
            target.close()
