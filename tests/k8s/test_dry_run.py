"""Dry run: the plan lists what a drill would change, and nothing mutating reaches the server."""

from __future__ import annotations

import pytest

from drills.errors import TargetBusyError
from drills.safety import Plan, RunMode
from drills.targets.base import Component
from drills.targets.kubernetes.driver import KubernetesTarget
from drills.targets.kubernetes.profile import KubernetesProfile
from drills.targets.kubernetes.resources import JOBS
from tests.k8s.conftest import seed_cluster
from tests.k8s.kube_server import MUTATING, KubeServer
from tests.k8s.tour import prepare, tour

pytestmark = pytest.mark.k8s

NS = "maestro-staging"
ENV = {"DRILLS_TEST_PGPASSWORD": "pw"}


def changes(cluster: KubeServer) -> list[tuple[str, str]]:
    """What the live run changed: mutating requests, plus psql execs that end queries."""
    out = []
    for request in cluster.driver_requests():
        ends_queries = request.subresource == "exec" and "pg_terminate_backend" in str(request.url)
        if request.method.value in MUTATING or ends_queries:
            out.append((request.method.value, request.url.path))
    return out


def test_a_dry_run_sends_no_mutating_request_and_plans_the_live_changes(
    kube: KubeServer, profile: KubernetesProfile
) -> None:
    live_cluster = KubeServer()
    try:
        seed_cluster(live_cluster)
        prepare(live_cluster)
        tour(KubernetesTarget(profile, live_cluster.api_client(), environ=ENV))
        live = changes(live_cluster)
    finally:
        live_cluster.close()
    seed_cluster(kube)
    prepare(kube)
    plan = Plan()
    dry = KubernetesTarget(profile, kube.api_client(), mode=RunMode.DRY_RUN, plan=plan, environ=ENV)

    tour(dry)

    assert kube.mutating_requests() == []
    assert not any("pg_terminate_backend" in str(r.url) for r in kube.driver_requests())
    planned = [(c.method, c.path) for c in dry.plan() if c.method != "WATCH"]
    # An apply of an existing object is a create answered 409, then a patch: the plan shows
    # the apply as its create.
    patched_after_conflict = {
        ("PATCH", f"/api/v1/namespaces/{NS}/configmaps/maestro-maintenance"),
        ("PATCH", f"/api/v1/namespaces/{NS}/services/maintenance-page"),
        ("PATCH", f"/apis/networking.k8s.io/v1/namespaces/{NS}/ingresses/maestro-maintenance-page"),
        (
            "PATCH",
            f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies/drills-block-addresses",
        ),
    }
    assert [c for c in live if c not in patched_after_conflict] == planned
    waits = [c.path for c in dry.plan() if c.method == "WATCH"]
    assert (
        f"/apis/apps/v1/namespaces/{NS}/deployments?fieldSelector=metadata.name=maestro-control-plane"
        in waits
    )
    assert plan.calls() == dry.plan()


def test_the_plan_prints_method_path_and_a_masked_body(
    kube: KubeServer, profile: KubernetesProfile
) -> None:
    seed_cluster(kube)
    dry = KubernetesTarget(profile, kube.api_client(), mode=RunMode.DRY_RUN)
    secret_env = [{"name": "PGPASSWORD", "value": "hunter2"}]

    dry.scale(Component.CONTROL_PLANE, 0)
    dry.gateway.create(JOBS, {"metadata": {"name": "j"}, "spec": {"env": secret_env}})

    lines = dry.gateway.plan.render().splitlines()
    assert lines[0] == (
        f"PATCH /apis/apps/v1/namespaces/{NS}/deployments/maestro-control-plane/scale"
        '  {"spec":{"replicas":0}}'
    )
    assert lines[1].startswith(f"WATCH /apis/apps/v1/namespaces/{NS}/deployments?")
    assert lines[2] == (
        f"POST /apis/batch/v1/namespaces/{NS}/jobs"
        '  {"metadata":{"name":"j"},"spec":{"env":[{"name":"PGPASSWORD","value":"***"}]}}'
    )
    assert kube.mutating_requests() == []


def test_a_dry_run_refuses_a_lock_another_drill_holds(
    kube: KubeServer, profile: KubernetesProfile
) -> None:
    seed_cluster(kube)
    KubernetesTarget(profile, kube.api_client()).lease(holder="someone/else/run").acquire()
    held = len(kube.mutating_requests())
    dry = KubernetesTarget(profile, kube.api_client(), mode=RunMode.DRY_RUN)

    with pytest.raises(TargetBusyError, match=r"held by another drill \(someone/else/run\)"):
        dry.lease(holder="me/1/run").acquire()
    assert len(kube.mutating_requests()) == held


def test_a_dry_run_plans_the_lock_when_it_is_free(
    kube: KubeServer, profile: KubernetesProfile
) -> None:
    dry = KubernetesTarget(profile, kube.api_client(), mode=RunMode.DRY_RUN)
    lock = dry.lease(holder="me/1/run")
    lock.acquire()
    lock.release()
    assert [(c.method, c.path.rsplit("/", 1)[-1]) for c in dry.plan()] == [
        ("POST", "leases"),
        ("DELETE", "drills-lock"),
    ]
    assert kube.mutating_requests() == []
