"""`drills run SCENARIO --target PROFILE --dry-run` on a cluster: the calls, none of them sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drills.errors import ExitCode, UnsafeTargetError
from drills.runner import Runner, RunRequest
from drills.settings import Settings
from tests.k8s.conftest import PROFILE, write_profile
from tests.k8s.kube_server import KubeServer
from tests.k8s.test_safety import kubeconfig, profile_with_kubeconfig
from tests.loopback import QuietHandler, serving

pytestmark = pytest.mark.k8s

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


class HealthyControlPlane(QuietHandler):
    """The staging service's runbook endpoints, all healthy (reads only reach it in a dry run).

    /health names the answering replica, in turn, like the two pods behind a Service."""

    answered = 0

    def do_GET(self) -> None:
        if self.path.startswith("/api/resilience/circuit-breakers"):
            self.answer(200, {"postgres": {"state": "closed"}, "redis": {"state": "closed"}})
        else:
            HealthyControlPlane.answered += 1
            self.answer(200, {"status": "ok", "replica": HealthyControlPlane.answered % 2})

    def do_POST(self) -> None:
        self.request_body()
        self.answer(200, {"data": {"healthCheck": True}})


@pytest.fixture
def control_plane() -> Iterator[str]:
    with serving(HealthyControlPlane) as url:
        yield url


def profile_for(tmp_path: Path, kube: KubeServer, url: str, context: str = "staging") -> Path:
    config = kubeconfig(tmp_path / "kubeconfig", kube.url, context)
    text = profile_with_kubeconfig(tmp_path, config).replace("http://127.0.0.1:9/", url)
    assert text != PROFILE
    return write_profile(tmp_path, text)


def test_dry_run_lists_the_calls_and_sends_none(
    cluster: KubeServer, control_plane: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILLS_HOME", str(tmp_path / "home"))
    profile = profile_for(tmp_path, cluster, control_plane)
    outcome = Runner(Settings.from_environ()).run(
        RunRequest("complete-outage", str(profile), dry_run=True)
    )
    assert outcome.exit_code == ExitCode.MET
    assert "every step can run" in outcome.message, outcome.message
    assert "DELETE /api/v1/namespaces/maestro-staging/pods" in outcome.message
    print(outcome.message)
    assert not [
        r
        for r in cluster.driver_requests()
        if r.method in MUTATING and "accessreview" not in r.url.path
    ]
    assert not (tmp_path / "home" / "runs").exists()


def test_dry_run_of_production_is_refused_before_any_request(
    cluster: KubeServer, control_plane: str, tmp_path: Path
) -> None:
    profile = profile_for(tmp_path, cluster, control_plane, context="intelgraph-prod")
    with pytest.raises(UnsafeTargetError, match="prod"):
        Runner(Settings.from_environ()).run(
            RunRequest("complete-outage", str(profile), dry_run=True)
        )
    assert cluster.driver_requests() == []


def test_a_dry_run_against_an_unreachable_api_server_says_what_it_could_not_read(
    tmp_path: Path,
) -> None:
    """Nothing answers on the API server's address: one line naming what could not be read, exit 2
    (a plan that cannot be made is bad input), never a plan without its fault or exit 0."""
    from tests.drills_process import one_line, run_drills

    (tmp_path / "kubeconfig.yaml").write_text(
        "apiVersion: v1\nkind: Config\n"
        'clusters: [{name: c, cluster: {server: "http://127.0.0.1:9"}}]\n'
        "users: [{name: u, user: {token: x}}]\n"
        "contexts: [{name: staging, context: {cluster: c, user: u, namespace: maestro-staging}}]\n"
        "current-context: staging\n"
    )
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "kind: kubernetes\nname: maestro-staging\nenvironment: staging\n"
        "kubernetes: {kubeconfig: kubeconfig.yaml, context: staging, namespace: maestro-staging}\n"
        "components:\n  control-plane: deployment/maestro-control-plane\n"
        "  postgres: {kind: statefulset, name: postgresql, container: postgresql}\n"
        "  redis: {kind: statefulset, name: redis}\n"
        'services: {control_plane: "http://127.0.0.1:9"}\n'
    )
    done = run_drills(
        "run", "complete-outage", "--target", str(profile), "--dry-run", home=tmp_path / "home"
    )
    assert done.returncode == ExitCode.USAGE, done.stdout + done.stderr
    line = one_line(done.stderr)
    assert "dry run" in line and "did not answer" in line, line
    assert "Drill plan" not in done.stdout
