"""Contract tests: the runbook's workload steps send exactly the requests `kubectl` would.

Restart (rollout restart + rollout status), scale (0, 1, 3, N), patch statefulset resources and
kill pods, each against a real HTTP server speaking the Kubernetes API, with a simulated
controller so "wait for the rollout" really waits on watch events.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from drills.errors import InputError, TargetError
from drills.targets.base import Component, Target
from drills.targets.kubernetes.driver import KubernetesTarget
from tests.k8s import objects as o
from tests.k8s.conftest import POSTGRES
from tests.k8s.kube_server import DEPLOYMENTS, PODS, STATEFULSETS, KubeServer, calls

pytestmark = pytest.mark.k8s

NS = o.NS
DEPLOY_PATH = f"/apis/apps/v1/namespaces/{NS}/deployments"
STS_PATH = f"/apis/apps/v1/namespaces/{NS}/statefulsets"


def test_is_a_target(target: KubernetesTarget) -> None:
    as_target: Target = target  # mypy checks the protocol statically, isinstance at run time
    assert isinstance(as_target, Target)
    assert target.kind == "kubernetes"
    assert target.name == "maestro-staging"


def test_restart_patches_restarted_at_and_watches_until_rolled_out(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    cluster.handler.rollout_delay_seconds = 0.05
    before = datetime.now(UTC).replace(microsecond=0)
    started = time.monotonic()

    target.restart(Component.CONTROL_PLANE, timeout_seconds=10)

    waited = time.monotonic() - started
    patch, watch = cluster.driver_requests()[-2:]
    assert (patch.method.value, patch.url.path) == ("PATCH", f"{DEPLOY_PATH}/maestro-control-plane")
    assert patch.headers["Content-Type"] == "application/strategic-merge-patch+json"
    annotations = patch.data["spec"]["template"]["metadata"]["annotations"]
    assert list(patch.data) == ["spec"] and list(annotations) == [
        "kubectl.kubernetes.io/restartedAt"
    ]
    restarted = datetime.fromisoformat(annotations["kubectl.kubernetes.io/restartedAt"])
    assert before <= restarted <= datetime.now(UTC)
    assert (watch.method.value, watch.url.path) == ("GET", DEPLOY_PATH)
    assert watch.params["watch"] == "true"
    assert watch.params["fieldSelector"] == "metadata.name=maestro-control-plane"
    # it returned only once the controller reported the new generation fully rolled out
    status = cluster.obj(DEPLOYMENTS, NS, "maestro-control-plane")["status"]  # type: ignore[index]
    assert status["observedGeneration"] == 2 and status["availableReplicas"] == 2
    assert waited >= 0.1


def test_restart_statefulset_waits_for_revisions(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    cluster.handler.rollout_delay_seconds = 0.02

    target.restart(Component.POSTGRES, timeout_seconds=10)

    patch = cluster.driver_requests()[-2]
    assert (patch.method.value, patch.url.path) == ("PATCH", f"{STS_PATH}/postgresql")
    status = cluster.obj(STATEFULSETS, NS, "postgresql")["status"]  # type: ignore[index]
    assert status["currentRevision"] == status["updateRevision"] == "r2"


def test_restart_without_waiting_sends_only_the_patch(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    target.restart(Component.REDIS, wait=False)

    assert calls(cluster.driver_requests()) == [("PATCH", f"{DEPLOY_PATH}/redis")]


def test_rollout_that_never_completes_times_out(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    started = time.monotonic()
    with pytest.raises(
        TargetError, match=r"rollout not complete after 0 s \(waiting for the controller"
    ):
        target.restart(Component.CONTROL_PLANE, timeout_seconds=0.3)
    assert time.monotonic() - started < 3


def test_on_delete_statefulset_cannot_be_rolled(
    cluster: KubeServer, target: KubernetesTarget
) -> None:
    cluster.seed(STATEFULSETS, o.statefulset("postgresql", POSTGRES, strategy="OnDelete"))
    cluster.handler.rollout_delay_seconds = 0.01
    with pytest.raises(TargetError, match="OnDelete"):
        target.restart(Component.POSTGRES, timeout_seconds=5)


@pytest.mark.parametrize("replicas", [0, 1, 3, 7])
def test_scale_uses_the_scale_subresource_and_waits(
    target: KubernetesTarget, cluster: KubeServer, replicas: int
) -> None:
    cluster.handler.rollout_delay_seconds = 0.01

    target.scale(Component.CONTROL_PLANE, replicas, timeout_seconds=10)

    patch = cluster.driver_requests()[-2]
    assert (patch.method.value, patch.url.path) == (
        "PATCH",
        f"{DEPLOY_PATH}/maestro-control-plane/scale",
    )
    assert patch.data == {"spec": {"replicas": replicas}}
    deployment = cluster.obj(DEPLOYMENTS, NS, "maestro-control-plane")
    assert deployment is not None
    assert deployment["spec"]["replicas"] == replicas
    assert deployment["status"]["updatedReplicas"] == replicas


def test_scale_refuses_negative_replicas_before_any_request(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    with pytest.raises(InputError):
        target.scale(Component.CONTROL_PLANE, -1)
    assert cluster.mutating_requests() == []


def test_patch_statefulset_resources_as_the_runbook_does(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    target.set_resources(
        Component.POSTGRES,
        requests={"memory": "2Gi", "cpu": "1000m"},
        limits={"memory": "4Gi", "cpu": "2000m"},
        wait=False,
    )

    (patch,) = cluster.mutating_requests()
    assert (patch.method.value, patch.url.path) == ("PATCH", f"{STS_PATH}/postgresql")
    # the runbook's `kubectl patch statefulset postgresql -p '{...}'`, byte for byte in meaning
    assert patch.data == {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "postgresql",
                            "resources": {
                                "requests": {"memory": "2Gi", "cpu": "1000m"},
                                "limits": {"memory": "4Gi", "cpu": "2000m"},
                            },
                        }
                    ]
                }
            }
        }
    }


def test_resources_refuse_a_malformed_quantity(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    with pytest.raises(InputError, match="not a Kubernetes quantity"):
        target.set_resources(Component.POSTGRES, limits={"memory": "lots"})
    assert cluster.mutating_requests() == []


def test_kill_deletes_only_the_components_pods_with_grace_zero(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    killed = target.kill_pods(Component.CONTROL_PLANE)

    assert killed == ["maestro-control-plane-7d9f-a", "maestro-control-plane-7d9f-b"]
    deletes = cluster.mutating_requests()
    assert calls(deletes) == [("DELETE", f"/api/v1/namespaces/{NS}/pods/{name}") for name in killed]
    assert all(d.data == {"gracePeriodSeconds": 0} for d in deletes)
    assert cluster.obj(PODS, NS, "maestro-control-plane-7d9f-a") is None
    assert cluster.obj(PODS, NS, "unrelated-1") is not None  # kmock ignores selectors; we do not


def test_kill_through_the_protocol_returns_no_pids(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    assert target.kill(Component.REDIS) == []
    assert calls(cluster.mutating_requests()) == [
        ("DELETE", f"/api/v1/namespaces/{NS}/pods/redis-5c4b-a")
    ]


def test_replicas_and_status(target: KubernetesTarget, cluster: KubeServer) -> None:
    cluster.send("DELETE", f"/api/v1/namespaces/{NS}/pods/maestro-control-plane-7d9f-b")

    assert target.replicas(Component.CONTROL_PLANE) == 1
    status = target.status()
    control = status["components"]["control-plane"]
    assert control["desired"] == 2 and control["state"] == "degraded"  # 1 of 2 pods left
    assert [p["name"] for p in control["pods"]] == ["maestro-control-plane-7d9f-a"]
    assert status["components"]["postgres"]["kind"] == "StatefulSet"
    assert status["components"]["postgres"]["state"] == "ready"


def test_wait_ready_returns_at_once_when_rolled_out(target: KubernetesTarget) -> None:
    assert target.wait_ready(Component.REDIS, timeout_seconds=5) < 1.0


def test_unknown_component_is_a_clear_error(cluster: KubeServer, tmp_path: object) -> None:
    from drills.targets.kubernetes.profile import parse_profile

    profile = parse_profile(
        {
            "kind": "kubernetes",
            "name": "tiny",
            "kubernetes": {"namespace": NS},
            "components": {"control-plane": "deployment/maestro-control-plane"},
            "services": {"control_plane": "http://127.0.0.1:9"},
        }
    )
    driver = KubernetesTarget(profile, cluster.api_client())
    with pytest.raises(TargetError, match="maps no workload to component 'redis'"):
        driver.restart(Component.REDIS)
    assert cluster.driver_requests() == []
