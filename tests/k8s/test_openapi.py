"""The schema check every kmock test ends with (`tests/k8s/openapi.py`): it covers the driver's
whole API, passes for what the driver sends, and refuses what a real API server would refuse."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from drills.targets.kubernetes.driver import KubernetesTarget
from drills.targets.kubernetes.profile import KubernetesProfile
from tests.k8s import objects as o
from tests.k8s.conftest import CONTROL_PLANE, seed_cluster
from tests.k8s.kube_server import DEPLOYMENTS, KubeServer
from tests.k8s.openapi import SUPPORTED_VERSIONS, manifest_problems, request_problems
from tests.k8s.tour import prepare, tour

pytestmark = pytest.mark.k8s


def test_every_body_of_the_drivers_whole_api_validates_in_the_oldest_and_newest_version(
    cluster: KubeServer, profile: KubernetesProfile
) -> None:
    assert SUPPORTED_VERSIONS == ("1.27", "1.37")
    prepare(cluster)
    driver = KubernetesTarget(
        profile, cluster.api_client(), environ={"DRILLS_TEST_PGPASSWORD": "pw"}
    )
    tour(driver, hang_on=cluster)
    driver.close()
    sent = [r for r in cluster.driver_requests() if isinstance(r.data, dict)]
    kinds = Counter(f"{r.method.value} {r.resource.plural}/{r.subresource or ''}" for r in sent)
    # creates (Lease, Job, NetworkPolicy, maintenance objects), patches (scale, restart,
    # resources, ingress annotations with deletions) and deletes with options, all checked
    expected = {"POST leases/", "POST jobs/", "POST networkpolicies/", "PATCH deployments/scale"}
    expected |= {"PATCH deployments/", "PATCH ingresses/", "DELETE jobs/", "DELETE pods/"}
    assert expected <= set(kinds), sorted(kinds)
    assert request_problems(sent) == []


def test_a_body_a_real_api_server_would_refuse_is_caught() -> None:
    server = KubeServer()
    deployment = f"/apis/apps/v1/namespaces/{o.NS}/deployments"
    sent = [
        ("PATCH", f"{deployment}/maestro-control-plane/scale", {"spec": {"replicas": "two"}}),
        (
            "PATCH",
            f"{deployment}/maestro-control-plane",
            {"spec": {"template": {"spec": {"containers": [{"name": "m", "resourcez": {}}]}}}},
        ),
        (
            "POST",
            deployment,
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "x", "labelz": {}},
                "spec": o.deployment("x", CONTROL_PLANE)["spec"],
            },
        ),
        # a merge patch deleting a label: valid
        ("PATCH", f"{deployment}/maestro-control-plane", {"metadata": {"labels": {"a": None}}}),
    ]
    try:
        seed_cluster(server)
        with httpx.Client(base_url=server.url, headers={"User-Agent": "drills-test"}) as http:
            for method, path, body in sent:
                kind = "merge-patch+json" if method == "PATCH" else "json"
                http.request(
                    method, path, json=body, headers={"content-type": f"application/{kind}"}
                )
        problems = request_problems(server.driver_requests())
    finally:
        server.close()
    text = "\n".join(problems)
    for version in SUPPORTED_VERSIONS:
        assert f"{version}: spec/replicas: 'two' is not of type 'integer'" in text, text
        assert f"{version}: spec/template/spec/containers/0: Additional properties" in text
        assert f"{version}: metadata: Additional properties are not allowed ('labelz'" in text
    assert "labels" not in text
    assert len(problems) == 3 * len(SUPPORTED_VERSIONS), text


def test_manifests_are_checked_whole() -> None:
    deployment = o.deployment("maestro-control-plane", CONTROL_PLANE)
    assert manifest_problems(deployment) == []
    del deployment["spec"]["selector"]
    assert len(manifest_problems(deployment)) == len(SUPPORTED_VERSIONS)
    assert DEPLOYMENTS.plural == "deployments"
