"""One drill per namespace: the `drills-lock` Lease, against a real Kubernetes API server."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import kmock
import pytest

from drills.errors import ExitCode, TargetBusyError
from drills.targets.kubernetes.driver import KubernetesTarget
from drills.targets.kubernetes.profile import KubernetesProfile
from tests.k8s.kube_server import KubeServer, calls

pytestmark = pytest.mark.k8s

NS = "maestro-staging"
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"
LEASE_RES = kmock.resource("coordination.k8s.io", "v1", "leases")


def driver(kube: KubeServer, profile: KubernetesProfile) -> KubernetesTarget:
    return KubernetesTarget(profile, kube.api_client())


def seed_lease(kube: KubeServer, holder: str, renewed: datetime, version: str = "42") -> None:
    kube.seed(
        LEASE_RES,
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "drills-lock", "namespace": NS, "resourceVersion": version},
            "spec": {
                "holderIdentity": holder,
                "leaseDurationSeconds": 60,
                "renewTime": renewed.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "leaseTransitions": 3,
            },
        },
    )


def test_acquire_creates_the_lease(kube: KubeServer, profile: KubernetesProfile) -> None:
    before = datetime.now(UTC)
    driver(kube, profile).lease(holder="runner-a/7/r1").acquire()

    (create,) = kube.mutating_requests()
    assert (create.method.value, create.url.path) == ("POST", LEASES)
    body = create.data
    assert body["metadata"] == {
        "name": "drills-lock",
        "namespace": NS,
        "labels": {"app.kubernetes.io/managed-by": "drills"},
    }
    spec = body["spec"]
    assert spec["holderIdentity"] == "runner-a/7/r1" and spec["leaseDurationSeconds"] == 60
    # the client re-serializes the MicroTime as RFC 3339 with an offset
    acquired = datetime.fromisoformat(spec["acquireTime"])
    assert before <= acquired <= datetime.now(UTC) and spec["renewTime"] == spec["acquireTime"]


def test_a_second_drill_is_refused_while_the_lease_is_live(
    kube: KubeServer, profile: KubernetesProfile
) -> None:
    driver(kube, profile).lease(holder="runner-a/7/r1").acquire()

    with pytest.raises(
        TargetBusyError, match=r"held by another drill \(runner-a/7/r1\) for (59|60) s more"
    ) as err:
        driver(kube, profile).lease(holder="runner-b/9/r2").acquire()

    assert err.value.exit_code is ExitCode.ABORTED
    assert calls(kube.mutating_requests()) == [("POST", LEASES), ("POST", LEASES)]  # no takeover


def test_an_expired_lease_is_taken_over_with_a_version_check(
    kube: KubeServer, profile: KubernetesProfile
) -> None:
    seed_lease(kube, "crashed/1/r0", datetime.now(UTC) - timedelta(seconds=61))

    driver(kube, profile).lease(holder="runner-b/9/r2").acquire()

    _create, takeover = kube.mutating_requests()
    assert (takeover.method.value, takeover.url.path) == ("PATCH", f"{LEASES}/drills-lock")
    assert takeover.data["metadata"] == {"resourceVersion": "42"}
    assert takeover.data["spec"]["holderIdentity"] == "runner-b/9/r2"
    assert takeover.data["spec"]["leaseTransitions"] == 4


def test_losing_the_takeover_race_is_busy(kube: KubeServer, profile: KubernetesProfile) -> None:
    seed_lease(kube, "crashed/1/r0", datetime.now(UTC) - timedelta(minutes=5))

    async def conflict() -> None:
        (
            kube.handler["patch", LEASE_RES]
            << 409
            << {"kind": "Status", "code": 409, "reason": "Conflict"}
        )

    kube.call(conflict())
    with pytest.raises(TargetBusyError, match="took the expired lock first"):
        driver(kube, profile).lease(holder="runner-b/9/r2").acquire()


def test_renew_and_release(kube: KubeServer, profile: KubernetesProfile) -> None:
    lock = driver(kube, profile).lease(holder="runner-a/7/r1")
    lock.acquire()
    lock.renew()
    lock.release()

    _, renew, delete = kube.mutating_requests()
    assert (renew.method.value, renew.url.path) == ("PATCH", f"{LEASES}/drills-lock")
    assert list(renew.data) == ["spec"] and list(renew.data["spec"]) == ["renewTime"]
    assert (delete.method.value, delete.url.path) == ("DELETE", f"{LEASES}/drills-lock")
    assert not lock.held
    driver(kube, profile).lease(holder="runner-b/9/r2").acquire()  # free again


def test_release_leaves_a_lease_someone_else_took_over(
    kube: KubeServer, profile: KubernetesProfile
) -> None:
    lock = driver(kube, profile).lease(holder="runner-a/7/r1")
    lock.acquire()
    seed_lease(kube, "runner-b/9/r2", datetime.now(UTC))  # after ours expired, b took it

    lock.release()

    assert [r.method.value for r in kube.mutating_requests()] == ["POST"]


def test_keep_alive_renews_until_the_block_ends(
    kube: KubeServer, profile: KubernetesProfile
) -> None:
    lock = driver(kube, profile).lease(holder="runner-a/7/r1")
    with lock.keep_alive(interval_seconds=0.02):
        time.sleep(0.15)
    methods = [r.method.value for r in kube.mutating_requests()]
    assert methods[0] == "POST" and methods[-1] == "DELETE"
    assert methods.count("PATCH") >= 3 and lock.lost is None
