"""`drills runbook check` against a Kubernetes API server (kmock): GET/LIST only, drift found.

The cluster holds what the runbook names (in the profile's namespace, which stands for the
runbook's `intelgraph-prod`), plus Neo4j and an ingress controller in `ingress-nginx`; the
control-plane URL is a real sandbox's, whose service has the runbook's three breakers (postgres,
redis and neo4j, its graph store): the unchanged runbook has no drift at all. Reading namespaces
needs `get namespaces`, which the
runner's Role does not grant: the test grants it, as a team running the check would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import kmock
import pytest

from drills.runbook import Runbook, read_runbook
from drills.runbook.check import CheckTarget, check_runbook, profile_check_target
from drills.runbook.findings import CheckReport, Status
from drills.targets.kubernetes.permissions import Rule
from drills.targets.kubernetes.profile import load_profile
from drills.targets.sandbox.driver import SandboxTarget
from tests.k8s import objects as o
from tests.k8s.conftest import PROFILE, seed_cluster, write_profile
from tests.k8s.kube_server import DEPLOYMENTS, MUTATING, PODS, STATEFULSETS, KubeServer
from tests.runbook.conftest import RUNBOOK
from tests.runbook.variants import DRIFTS, Drift, scripts_tree, with_drift

pytestmark = [pytest.mark.k8s, pytest.mark.integration]

NEO4J = {"app": "neo4j"}
INGRESS = {"app.kubernetes.io/name": "ingress-nginx"}
NEO4J_BREAKER_LINE = 196


def _in(namespace: str, obj: dict[str, object]) -> dict[str, object]:
    meta = dict(obj["metadata"])  # type: ignore[call-overload]
    meta["namespace"] = namespace
    return {**obj, "metadata": meta}


def seed_runbook_world(kube: KubeServer) -> None:
    seed_cluster(kube)
    kube.seed(STATEFULSETS, o.statefulset("neo4j", NEO4J, container="neo4j"))
    kube.seed(PODS, o.pod("neo4j-0", NEO4J, container="neo4j"))
    kube.seed(DEPLOYMENTS, _in("ingress-nginx", o.deployment("ingress-nginx-controller", INGRESS)))
    kube.seed(PODS, _in("ingress-nginx", o.pod("ingress-nginx-controller-a", INGRESS)))

    async def namespaces() -> None:
        # kmock reads /api/v1/namespaces/NAME as a namespace prefix, not as an object: serve them.
        for name in (o.NS, "ingress-nginx"):
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            kube.handler[f"get /api/v1/namespaces/{name}"] << body

    kube.call(namespaces())
    kube.extra_rules.append(Rule("", ("namespaces",), ("get",)))  # what a real cluster needs


@pytest.fixture
def world(kube: KubeServer) -> KubeServer:
    seed_runbook_world(kube)
    return kube


@pytest.fixture(scope="module")
def runbook() -> Runbook:
    return read_runbook(RUNBOOK)


@pytest.fixture
def target(
    world: KubeServer, tmp_path: Path, runbook: Runbook, sandbox_target: SandboxTarget
) -> Iterator[CheckTarget]:
    text = PROFILE.replace("http://127.0.0.1:9/", sandbox_target.control_plane_url)
    profile = load_profile(write_profile(tmp_path, text))
    yield profile_check_target(profile, world.api_client(), runbook)
    assert not world.mutating_requests(), "a read-only check sent a write"
    assert not [r for r in world.driver_requests() if r.method.value in MUTATING]


def _check(book: Runbook, target: CheckTarget, tmp_path: Path) -> CheckReport:
    return check_runbook(book, target, scripts_dir=scripts_tree(tmp_path / "repo", book))


def test_unchanged_runbook_has_no_drift_on_the_cluster(
    runbook: Runbook, target: CheckTarget, tmp_path: Path
) -> None:
    report = _check(runbook, target, tmp_path)
    assert not report.drift, [f.to_json() for f in report.drift]
    rows = {f.line: f for f in report.findings}
    assert rows[NEO4J_BREAKER_LINE].status is Status.OK  # the sandbox's service has the breaker
    assert rows[131].status is Status.OK and "statefulset/neo4j exists" in rows[131].detail
    assert rows[140].status is Status.OK and "ingress-nginx" in rows[140].detail
    assert rows[111].status is Status.OK and "matches 1 pod" in rows[111].detail
    assert rows[218].status is Status.OK and "pod/postgresql-0" in rows[218].detail
    assert rows[420].detail == "runbook 900 s, profile 900 s"


@pytest.mark.parametrize("drift", DRIFTS, ids=lambda d: d.name)
def test_each_injected_drift_is_found_on_the_cluster(
    drift: Drift, target: CheckTarget, tmp_path: Path, runbook: Runbook
) -> None:
    baseline = {f.line: f.status for f in _check(runbook, target, tmp_path / "a").findings}
    report = _check(with_drift(drift), target, tmp_path / "b")
    assert [f.line for f in report.drift] == [drift.line], [f.to_json() for f in report.drift]
    assert drift.expect in next(f for f in report.drift if f.line == drift.line).detail
    after = {f.line: f.status for f in report.findings if f.line != drift.line}
    assert after == {line: s for line, s in baseline.items() if line != drift.line}


def test_renamed_deployment_in_the_cluster_is_suggested(
    world: KubeServer, target: CheckTarget, tmp_path: Path, runbook: Runbook
) -> None:
    world.seed(DEPLOYMENTS, o.deployment("maestro-cp", {"app.kubernetes.io/name": "maestro"}))
    book = with_drift(Drift("x", 120, "maestro-control-plane", "maestro-controlplane", ""))
    row = next(f for f in _check(book, target, tmp_path).findings if f.line == 120)
    assert row.status is Status.DRIFT
    assert row.suggestion == "deployment/maestro-control-plane", row
    assert "did you mean deployment/maestro-control-plane?" in row.detail


def test_selector_that_matches_nothing_suggests_a_label(
    target: CheckTarget, tmp_path: Path
) -> None:
    book = with_drift(Drift("x", 173, "app=postgresql", "app=postgres", ""))
    row = next(f for f in _check(book, target, tmp_path).findings if f.line == 173)
    assert row.status is Status.DRIFT and row.suggestion == "app=postgresql", row


def test_cli_with_a_profile_and_kubeconfig(
    world: KubeServer,
    tmp_path: Path,
    sandbox_target: SandboxTarget,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from drills.cli.main import main
    from tests.k8s.test_safety import kubeconfig, profile_with_kubeconfig

    config = kubeconfig(tmp_path / "kubeconfig", world.url, "staging")
    text = profile_with_kubeconfig(tmp_path, config).replace(
        "http://127.0.0.1:9/", sandbox_target.control_plane_url
    )
    profile = write_profile(tmp_path, text)
    try:
        main(["runbook", "check", str(RUNBOOK), "--target", str(profile), "--json"])
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    assert code in (0, None)  # no drift, as above
    document = json.loads(capsys.readouterr().out)
    assert document["target"] == "maestro-staging"
    assert [f["line"] for f in document["findings"] if f["status"] == "drift"] == []
    assert not world.mutating_requests()


def _forbid_listing(kube: KubeServer, group: str, version: str, plural: str) -> None:
    async def forbid() -> None:
        kube.handler["list", kmock.resource(group, version, plural)] << 403 << {
            "kind": "Status", "code": 403,
            "message": f'{plural} is forbidden: User "x" cannot list resource "{plural}"',
        }  # fmt: skip

    kube.call(forbid())


def test_a_missing_workload_is_drift_even_when_the_role_cannot_list_workloads(
    world: KubeServer, target: CheckTarget, tmp_path: Path, runbook: Runbook
) -> None:
    """The emitted Role reads deployments and statefulsets by name but cannot list them: the
    404 of the read is the drift; only the did-you-mean needs the listing."""
    for plural in ("deployments", "statefulsets"):
        _forbid_listing(world, "apps", "v1", plural)
    (drift,) = [d for d in DRIFTS if d.name == "renamed deployment"]
    report = _check(with_drift(drift), target, tmp_path)
    assert [f.line for f in report.drift] == [drift.line], [f.to_json() for f in report.drift]
    (row,) = report.drift
    assert row.detail.startswith("deployment/maestro-cp not found in namespace")
    assert "forbidden" in row.detail and row.suggestion is None
    # listing statefulsets (`kubectl get statefulsets`) is forbidden: said so, not drift
    listing = next(f for f in report.findings if f.line == 516)
    assert listing.status is Status.CANNOT_CHECK and "forbidden" in listing.detail
