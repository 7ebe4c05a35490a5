"""Contract tests: failover, fail-back, point-in-time and snapshot restores, verification, and
network faults, the recovery half of the `Target` protocol on Kubernetes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drills.errors import TargetError
from drills.targets.base import Component, NetworkFault
from drills.targets.kubernetes.driver import KubernetesTarget
from drills.targets.kubernetes.profile import load_profile
from drills.targets.kubernetes.recovery import AUTO_BACKUP_ID
from tests.k8s import objects as o
from tests.k8s.conftest import PROFILE, job_template, write_profile
from tests.k8s.kube_server import STATEFULSETS, KubeServer, calls

pytestmark = pytest.mark.k8s

NS = o.NS
STANDBY = {"app": "postgresql-standby"}


def standby_target(
    cluster: KubeServer, tmp_path: Path, *, promote_job: bool = False
) -> KubernetesTarget:
    cluster.seed(STATEFULSETS, o.statefulset("postgresql-standby", STANDBY))
    jobs = "jobs: {backup: backup-job.yaml, restore: restore-job.yaml, verify: verify.yaml, rebuild_standby: reseed.yaml"
    jobs += ", promote: promote.yaml}" if promote_job else "}"
    text = PROFILE.replace("jobs: {backup: backup-job.yaml, restore: restore-job.yaml}", jobs)
    text = text.replace(
        "  redis: deployment/redis\n",
        "  redis: deployment/redis\n  postgres-standby: {kind: statefulset, name: postgresql-standby, container: postgresql}\n",
    )
    path = write_profile(tmp_path, text)
    (tmp_path / "verify.yaml").write_text(job_template("pg-verify", "verify $DRILLS_BACKUP_ID"))
    (tmp_path / "reseed.yaml").write_text(job_template("pg-reseed", "reseed"))
    (tmp_path / "promote.yaml").write_text(job_template("pg-promote", "cnpg promote"))
    return KubernetesTarget(load_profile(path), cluster.api_client())


def test_promote_standby_runs_pg_promote_in_the_standby_pod(
    cluster: KubeServer, tmp_path: Path
) -> None:
    target = standby_target(cluster, tmp_path)
    seen: list[tuple[str, str | None, list[str]]] = []

    def psql(pod: str, container: str | None, command: list[str]) -> tuple[str, str, int]:
        seen.append((pod, container, command))
        return json.dumps([{"promoted": True}]), "", 0

    cluster.handler.exec_handler = psql
    target.promote_standby()

    ((pod, container, command),) = seen
    assert (pod, container) == ("postgresql-standby-0", "postgresql")
    assert (
        command[-1]
        == "SELECT json_build_array(json_build_object('promoted', pg_promote(true, 60)))"
    )
    (request,) = [r for r in cluster.driver_requests() if r.subresource == "exec"]
    assert request.url.path == f"/api/v1/namespaces/{NS}/pods/postgresql-standby-0/exec"


def test_promoting_a_primary_fails_loudly(cluster: KubeServer, tmp_path: Path) -> None:
    target = standby_target(cluster, tmp_path)
    cluster.handler.exec_handler = lambda pod, c, cmd: (
        "",
        "ERROR:  recovery is not in progress\n",
        1,
    )
    with pytest.raises(TargetError, match="exited with 1: ERROR:  recovery is not in progress"):
        target.promote_standby()


def test_a_promote_job_replaces_pg_promote(cluster: KubeServer, tmp_path: Path) -> None:
    target = standby_target(cluster, tmp_path, promote_job=True)
    cluster.handler.job_outcome = "Complete"

    target.promote_standby()

    (create,) = cluster.mutating_requests()
    assert create.url.path == f"/apis/batch/v1/namespaces/{NS}/jobs"
    assert create.data["metadata"]["labels"]["drills.dev/purpose"] == "promote"
    assert not any(r.subresource == "exec" for r in cluster.driver_requests())


def test_rebuild_standby_and_verify_backup_run_their_jobs(
    cluster: KubeServer, tmp_path: Path
) -> None:
    target = standby_target(cluster, tmp_path)
    cluster.handler.job_outcome = "Complete"

    target.rebuild_standby(timeout_seconds=5)
    verified = target.verify_backup("drills-20240115t095500z-ab12", timeout_seconds=5)

    reseed, verify = cluster.mutating_requests()[0], cluster.mutating_requests()[-1]
    assert reseed.data["metadata"]["labels"]["drills.dev/purpose"] == "rebuild-standby"
    assert reseed.data["metadata"]["labels"]["drills.dev/component"] == "postgres-standby"
    assert {"name": "DRILLS_BACKUP_ID", "value": "drills-20240115t095500z-ab12"} in (
        verify.data["spec"]["template"]["spec"]["containers"][0]["env"]
    )
    assert verified["verified"] is True and verified["succeeded"] is True


def test_a_failed_verification_raises(cluster: KubeServer, tmp_path: Path) -> None:
    target = standby_target(cluster, tmp_path)
    cluster.handler.job_outcome = "Failed"
    with pytest.raises(TargetError, match=r"verify Job pg-verify-.* failed"):
        target.verify_backup("b1", timeout_seconds=5)


def test_steps_without_a_template_refuse_before_any_request(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    with pytest.raises(TargetError, match=r"no jobs\.verify template"):
        target.verify_backup("b1")
    with pytest.raises(TargetError, match=r"no jobs\.rebuild_standby template"):
        target.rebuild_standby()
    with pytest.raises(
        TargetError, match=r"name the postgres-standby pod in the profile \(database.standby_pod\)"
    ):
        target.promote_standby()
    assert cluster.mutating_requests() == []


def test_point_in_time_restore_uses_the_newest_backup_before_the_target(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    cluster.handler.job_outcome = "Complete"
    first = target.take_backup(Component.POSTGRES, timeout_seconds=5)
    target.take_backup(Component.POSTGRES, timeout_seconds=5)
    later = datetime.now(UTC) + timedelta(seconds=5)

    used = target.restore_point_in_time(later, timeout_seconds=5)
    earlier = first.taken_at - timedelta(hours=1)
    auto = target.restore_point_in_time(earlier, timeout_seconds=5)

    second_id = target.list_backups(Component.POSTGRES)[-1].backup_id
    assert used.backup_id == second_id and used.details["succeeded"] is True
    restore = next(r for r in cluster.mutating_requests() if "pg-restore" in str(r.data))
    env = restore.data["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "DRILLS_BACKUP_ID", "value": second_id} in env
    assert {"name": "DRILLS_TARGET_TIME", "value": later.isoformat()} in env
    assert auto.backup_id == AUTO_BACKUP_ID and auto.taken_at == earlier


def test_snapshot_restore_picks_the_newest_or_the_named_backup(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    cluster.handler.job_outcome = "Complete"
    with pytest.raises(TargetError, match="no backup of redis taken by drills"):
        target.restore_snapshot(Component.REDIS)
    taken = target.take_backup(Component.REDIS, timeout_seconds=5)

    newest = target.restore_snapshot(Component.REDIS, timeout_seconds=5)
    named = target.restore_snapshot(Component.REDIS, "an-older-one", timeout_seconds=5)

    assert newest.backup_id == taken.backup_id and newest.component is Component.REDIS
    assert named.backup_id == "an-older-one"
    labels = [r.data["metadata"]["labels"] for r in cluster.mutating_requests()]
    assert [(lab["drills.dev/purpose"], lab["drills.dev/component"]) for lab in labels] == [
        ("backup", "redis"),
        ("restore", "redis"),
        ("restore", "redis"),
    ]


def test_network_blackhole_is_a_deny_all_policy_and_heals(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    target.set_network_fault(Component.POSTGRES, NetworkFault.BLACKHOLE)
    target.set_network_fault(Component.POSTGRES, NetworkFault.NONE)

    policies = f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies"
    assert calls(cluster.mutating_requests()) == [
        ("POST", policies),
        ("DELETE", f"{policies}/drills-network-fault-postgres"),
    ]
    assert cluster.mutating_requests()[0].data["spec"] == {
        "podSelector": {"matchLabels": {"app": "postgresql"}},
        "policyTypes": ["Ingress"],
    }


@pytest.mark.parametrize("fault", [NetworkFault.LATENCY, NetworkFault.RESET])
def test_faults_needing_a_proxy_refuse(
    target: KubernetesTarget, cluster: KubeServer, fault: NetworkFault
) -> None:
    with pytest.raises(TargetError, match=f"network fault '{fault.value}' needs a proxy"):
        target.set_network_fault(Component.POSTGRES, fault, latency_ms=200)
    assert cluster.mutating_requests() == []
