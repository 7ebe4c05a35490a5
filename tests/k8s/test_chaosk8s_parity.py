"""The driver sends what chaostoolkit-kubernetes sends, for the operations both have.

The driver uses the official client directly because chaosk8s cannot be handed the guarded
client (see drills/targets/kubernetes/driver.py). These tests point chaosk8s at the same API
server through its own configuration route (no kubeconfig present, `KUBERNETES_HOST` in the
secrets) and hold the two request streams side by side.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from drills.targets.base import Component
from drills.targets.kubernetes.driver import KubernetesTarget
from tests.k8s.kube_server import KubeServer

pytestmark = pytest.mark.k8s

NS = "maestro-staging"


@pytest.fixture
def chaosk8s_secrets(
    cluster: KubeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    for variable in ("CHAOSTOOLKIT_IN_POD", "HTTP_PROXY", "NO_PROXY", "KUBERNETES_CONTEXT"):
        monkeypatch.delenv(variable, raising=False)
    return {"KUBERNETES_HOST": cluster.url}


def last_mutation(cluster: KubeServer) -> Any:
    return cluster.mutating_requests()[-1]


def test_rollout_restart_matches(
    cluster: KubeServer, target: KubernetesTarget, chaosk8s_secrets: dict[str, str]
) -> None:
    from chaosk8s.deployment.actions import rollout_deployment

    rollout_deployment("redis", ns=NS, secrets=chaosk8s_secrets)
    theirs = last_mutation(cluster)
    target.restart(Component.REDIS, wait=False)
    ours = last_mutation(cluster)

    assert (ours.method, ours.url.path, ours.headers["Content-Type"]) == (
        theirs.method,
        theirs.url.path,
        theirs.headers["Content-Type"],
    )
    key = "kubectl.kubernetes.io/restartedAt"
    theirs_at = theirs.data["spec"]["template"]["metadata"]["annotations"].pop(key)
    ours_at = ours.data["spec"]["template"]["metadata"]["annotations"].pop(key)
    assert ours.data == theirs.data  # the same patch, apart from the instant
    # ours is RFC 3339 as kubectl writes it; chaosk8s appends "Z" to an offset ("+00:00Z")
    assert datetime.fromisoformat(ours_at).tzinfo is not None
    assert theirs_at.endswith("+00:00Z")


def test_terminating_pods_with_grace_zero_matches(
    cluster: KubeServer, target: KubernetesTarget, chaosk8s_secrets: dict[str, str]
) -> None:
    from chaosk8s.pod.actions import terminate_pods

    terminate_pods(
        name_pattern="^redis-", all=True, grace_period=0, ns=NS, secrets=chaosk8s_secrets
    )
    theirs = last_mutation(cluster)
    cluster.send("POST", f"/api/v1/namespaces/{NS}/pods", _pod_like(cluster, theirs.name))
    target.kill_pods(Component.REDIS)
    ours = last_mutation(cluster)

    assert (ours.method, ours.url.path, ours.data) == (theirs.method, theirs.url.path, theirs.data)
    assert ours.data == {"gracePeriodSeconds": 0}


def test_network_policy_create_and_remove_match(
    cluster: KubeServer, target: KubernetesTarget, chaosk8s_secrets: dict[str, str]
) -> None:
    from chaosk8s.networking.actions import create_network_policy, remove_network_policy

    from drills.targets.kubernetes.manifests import network_policy

    spec = network_policy(NS, {"app.kubernetes.io/name": "maestro"}, ["203.0.113.9"])
    create_network_policy(spec=spec, ns=NS, secrets=chaosk8s_secrets)
    remove_network_policy("drills-block-addresses", ns=NS, secrets=chaosk8s_secrets)
    theirs_create, theirs_remove = cluster.mutating_requests()[-2:]
    target.block_addresses(["203.0.113.9"])
    target.block_addresses([])
    ours_create, ours_remove = cluster.mutating_requests()[-2:]

    assert (ours_create.method, ours_create.url.path, ours_create.data) == (
        theirs_create.method,
        theirs_create.url.path,
        theirs_create.data,
    )
    assert (ours_remove.method, ours_remove.url.path) == (
        theirs_remove.method,
        theirs_remove.url.path,
    )


def _pod_like(cluster: KubeServer, name: str) -> dict[str, Any]:
    from tests.k8s import objects as o
    from tests.k8s.conftest import REDIS

    return o.pod(name, REDIS, container="redis")
