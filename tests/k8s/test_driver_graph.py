"""Contract tests: the graph store (Neo4j) on Kubernetes - `components.neo4j` a StatefulSet, its
rollout restart, Cypher through `cypher-shell` in its pod, its restore as `jobs.restore_neo4j`,
and the Role emitted for a profile that names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from drills.errors import ProfileError, TargetError
from drills.targets.base import Component, GraphQueries
from drills.targets.kubernetes.driver import KubernetesTarget
from drills.targets.kubernetes.graph import cypher_shell_command, parse_plain
from drills.targets.kubernetes.permissions import rules_for_profile
from drills.targets.kubernetes.profile import load_profile
from tests.k8s import objects as o
from tests.k8s.conftest import PROFILE, job_template, write_profile
from tests.k8s.kube_server import PODS, STATEFULSETS, KubeServer

pytestmark = pytest.mark.k8s

NS = o.NS
NEO4J = {"app": "neo4j"}


def graph_target(cluster: KubeServer, tmp_path: Path) -> KubernetesTarget:
    cluster.seed(STATEFULSETS, o.statefulset("neo4j", NEO4J, container="neo4j"))
    cluster.seed(PODS, o.pod("neo4j-0", NEO4J, container="neo4j"))
    text = PROFILE.replace(
        "  redis: deployment/redis\n",
        "  redis: deployment/redis\n  neo4j: {kind: statefulset, name: neo4j, container: neo4j}\n",
    ).replace(
        "jobs: {backup: backup-job.yaml, restore: restore-job.yaml}",
        "jobs: {backup: backup-job.yaml, restore: restore-job.yaml, "
        "restore_neo4j: restore-neo4j.yaml}",
    )
    path = write_profile(tmp_path, text)
    (tmp_path / "restore-neo4j.yaml").write_text(
        job_template("neo4j-restore", "restore-neo4j.sh --backup-id $DRILLS_BACKUP_ID")
    )
    return KubernetesTarget(load_profile(path), cluster.api_client())


def test_neo4j_is_restarted_like_the_other_stores(cluster: KubeServer, tmp_path: Path) -> None:
    # the runbook: kubectl rollout restart statefulset/neo4j
    target = graph_target(cluster, tmp_path)
    cluster.handler.rollout_delay_seconds = 0.02
    target.restart(Component.NEO4J, timeout_seconds=10)
    patch = cluster.driver_requests()[-2]
    assert (patch.method.value, patch.url.path) == (
        "PATCH",
        f"/apis/apps/v1/namespaces/{NS}/statefulsets/neo4j",
    )
    assert target.wait_ready(Component.NEO4J, timeout_seconds=5) >= 0


def test_cypher_runs_in_the_neo4j_pod_with_cypher_shell(
    cluster: KubeServer, tmp_path: Path
) -> None:
    target = graph_target(cluster, tmp_path)
    assert isinstance(target, GraphQueries)
    seen: list[tuple[str, str | None, list[str]]] = []

    def shell(pod: str, container: str | None, command: list[str]) -> tuple[str, str, int]:
        seen.append((pod, container, command))
        return 'r.stream, r.seq, r.payload\n"s-1", 0, "a \\"b\\", c"\n"s-1", 1, NULL\n', "", 0

    cluster.handler.exec_handler = shell
    rows = target.graph_query("MATCH (r) WHERE r.seq > $after RETURN r", {"after": -1})
    assert rows == [("s-1", 0, 'a "b", c'), ("s-1", 1, None)]
    ((pod, container, command),) = seen
    assert (pod, container) == ("neo4j-0", "neo4j")
    assert command[:3] == ["sh", "-c", command[2]] and "NEO4J_PASSWORD" in command[2]
    assert command[-3:] == ["--param", "after => -1", "MATCH (r) WHERE r.seq > $after RETURN r"]
    (request,) = [r for r in cluster.driver_requests() if r.subresource == "exec"]
    assert request.url.path == f"/api/v1/namespaces/{NS}/pods/neo4j-0/exec"


def test_a_refused_query_fails_loudly(cluster: KubeServer, tmp_path: Path) -> None:
    target = graph_target(cluster, tmp_path)
    cluster.handler.exec_handler = lambda pod, c, cmd: ("", "Neo.ClientError.Security\n", 1)
    with pytest.raises(TargetError, match="cypher-shell in pod neo4j-0 exited with 1"):
        target.graph_query("RETURN 1", {})


def test_the_graph_restore_runs_the_restore_neo4j_job_with_the_backup_id(
    cluster: KubeServer, tmp_path: Path
) -> None:
    target = graph_target(cluster, tmp_path)
    cluster.handler.job_outcome = "Complete"
    restored = target.restore_snapshot(Component.NEO4J, "neo4j-2026-01-01", timeout_seconds=5)
    assert restored.backup_id == "neo4j-2026-01-01" and restored.component is Component.NEO4J
    (job,) = [r for r in cluster.mutating_requests() if "neo4j-restore" in str(r.data)]
    labels = job.data["metadata"]["labels"]
    assert (labels["drills.dev/purpose"], labels["drills.dev/component"]) == (
        "restore-neo4j",
        "neo4j",
    )
    env = job.data["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "DRILLS_BACKUP_ID", "value": "neo4j-2026-01-01"} in env


def test_without_a_restore_neo4j_template_the_restore_refuses(
    target: KubernetesTarget,
) -> None:
    with pytest.raises(TargetError, match=r"no jobs\.restore_neo4j template"):
        target.restore_snapshot(Component.NEO4J, "x", timeout_seconds=1)


def test_the_role_lets_cypher_shell_run_in_the_neo4j_pod_and_names_the_statefulset(
    cluster: KubeServer, tmp_path: Path
) -> None:
    rules = [r.to_json() for r in rules_for_profile(graph_target(cluster, tmp_path).profile)]
    named = {(r["resources"][0], v): r.get("resourceNames") for r in rules for v in r["verbs"]}
    assert "neo4j" in named["statefulsets", "patch"]
    assert "neo4j-0" in named["pods/exec", "create"]
    assert "drills-network-fault-neo4j" in named["networkpolicies", "delete"]


def test_a_graph_store_the_profile_cannot_name_is_one_line(tmp_path: Path) -> None:
    text = PROFILE.replace(
        "  redis: deployment/redis\n", "  redis: deployment/redis\n  graph: x/y\n"
    )
    with pytest.raises(ProfileError, match="components"):
        load_profile(write_profile(tmp_path, text))


def test_parse_plain_and_the_command_round_trip_awkward_values() -> None:
    command = cypher_shell_command("RETURN $s", {"s": 'x"y\\z', "n": None, "b": True})
    assert command[-7:-1] == [
        "--param",
        's => "x\\"y\\\\z"',
        "--param",
        "n => null",
        "--param",
        "b => true",
    ]
    assert parse_plain('$s\n"x\\"y\\\\z"\n') == [('x"y\\z',)]
    assert parse_plain("n\n1.5\n") == [(1.5,)]
    assert parse_plain("") == []
