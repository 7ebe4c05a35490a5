"""`drills schedule --profile`: the ConfigMap the CronJobs mount, pushing to a Pushgateway, and
every document it prints valid for the Kubernetes versions drills supports.

Before: the `drills-profile` ConfigMap the CronJobs mount was never emitted (a CronJob could only
fail: no /etc/drills/profile.yaml), and the CronJobs could not push their results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from drills.schedule import emit_kubernetes
from drills.targets.kubernetes.profile import load_profile
from tests.cli.invoke import invoke
from tests.k8s.conftest import job_template, write_profile
from tests.k8s.openapi import SUPPORTED_VERSIONS, manifest_problems

pytestmark = pytest.mark.k8s

NS = "maestro-staging"
TOKEN = "kubeconfig-bearer-token-never-shipped"
PROFILE = """\
kind: kubernetes
name: maestro-staging
environment: staging
kubernetes: {namespace: maestro-staging, kubeconfig: kube/staging.yaml, context: staging}
components:
  control-plane: {kind: deployment, name: maestro-control-plane, container: maestro}
  postgres: {kind: statefulset, name: postgresql, container: postgresql}
  redis: deployment/redis
services: {control_plane: "http://maestro.maestro-staging.svc:8080"}
database:
  dbname: maestro
  conninfo: {host: postgresql, user: drills, password: {secret: pg-app, key: password}}
maintenance: {manifest: k8s/maintenance.yaml}
jobs: {backup: k8s/backup-job.yaml, restore: k8s/restore-job.yaml, rebuild_standby: reseed.yaml}
objectives: {rto_seconds: 15m, rpo_seconds: 5m}
"""


def staging_profile(directory: Path, *, reseed_env: str = "[{name: PGHOST, value: pg}]") -> Path:
    (directory / "k8s").mkdir()
    (directory / "kube").mkdir()
    (directory / "kube" / "staging.yaml").write_text(f"users: [{{user: {{token: {TOKEN}}}}}]\n")
    write_profile(directory / "k8s")  # maintenance.yaml, backup-job.yaml, restore-job.yaml
    reseed = job_template("pg-reseed", "reseed").replace(
        "env: [{name: PGHOST, value: postgresql}]", f"env: {reseed_env}"
    )
    (directory / "reseed.yaml").write_text(reseed)
    path = directory / "profile.yaml"
    path.write_text(PROFILE)
    return path


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def test_the_configmap_holds_the_profile_and_its_files_as_the_cronjobs_read_them(
    tmp_path: Path,
) -> None:
    profile = load_profile(staging_profile(tmp_path))
    text = emit_kubernetes(NS, "ghcr.io/acme/drills:0.1.0", profile=profile)
    docs = documents(text)
    (configmap,) = [d for d in docs if d["kind"] == "ConfigMap"]
    assert configmap["metadata"] == {
        "name": "drills-profile",
        "namespace": NS,
        "labels": {"app.kubernetes.io/name": "drills", "app.kubernetes.io/managed-by": "drills"},
    }
    for cron in (d for d in docs if d["kind"] == "CronJob"):
        volumes = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
        assert {"name": "profile", "configMap": {"name": "drills-profile"}} in volumes
    assert set(configmap["data"]) == {
        "profile.yaml", "maintenance.yaml", "job-backup.yaml", "job-restore.yaml",
        "job-rebuild-standby.yaml",
    }  # fmt: skip

    # Mounted at /etc/drills, the files load as the same profile, in-cluster.
    mounted = tmp_path / "etc-drills"
    mounted.mkdir()
    for key, content in configmap["data"].items():
        (mounted / key).write_text(content)
    in_cluster = load_profile(mounted / "profile.yaml")
    assert (in_cluster.cluster.kubeconfig, in_cluster.cluster.context) == (None, None)
    original, shipped = profile.to_json(), in_cluster.to_json()
    assert shipped.pop("kubernetes") == {"kubeconfig": None, "context": None, "namespace": NS}
    original.pop("kubernetes")
    assert shipped == original
    assert in_cluster.jobs == profile.jobs
    assert in_cluster.maintenance_manifest == profile.maintenance_manifest
    # Secrets stay references; the kubeconfig's credentials never leave the machine.
    assert in_cluster.database is not None and in_cluster.database.password is not None
    assert in_cluster.database.password.to_json() == {"secret": "pg-app", "key": "password"}
    assert TOKEN not in text and "kube/staging.yaml" not in text


def test_a_job_template_with_a_literal_password_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = staging_profile(tmp_path, reseed_env="[{name: PGPASSWORD, value: hunter2}]")
    done = invoke(
        capsys, monkeypatch, tmp_path / "home",
        "schedule", "--emit", "kubernetes", "--namespace", NS, "--image", "img:1",
        "--profile", str(path),
    )  # fmt: skip
    assert done.code == 2, done
    assert "PGPASSWORD" in done.line() and "secretKeyRef" in done.line()
    assert "hunter2" not in done.stdout + done.stderr


def test_the_cronjobs_push_their_results_to_the_pushgateway(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    args = ["schedule", "--emit", "kubernetes", "--namespace", NS, "--image", "img:1"]
    done = invoke(
        capsys, monkeypatch, tmp_path, *args, "--pushgateway", "http://pushgateway.mon:9091/"
    )
    assert done.code == 0, done
    crons = [d for d in documents(done.stdout) if d["kind"] == "CronJob"]
    assert crons
    for cron in crons:
        (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        assert container["args"][-2:] == ["--pushgateway", "http://pushgateway.mon:9091"]
    refused = invoke(capsys, monkeypatch, tmp_path, *args, "--pushgateway", "pushgateway:9091")
    assert refused.code == 2 and "--pushgateway" in refused.line()


@pytest.mark.parametrize("with_profile", [False, True])
def test_everything_emitted_validates_for_the_oldest_and_newest_kubernetes(
    tmp_path: Path, with_profile: bool
) -> None:
    profile = load_profile(staging_profile(tmp_path)) if with_profile else None
    text = emit_kubernetes(
        NS,
        "ghcr.io/acme/drills:0.1.0",
        profile=profile,
        env_from_secret="drills-env",
        secret_names=["pg-app"],
        pushgateway="http://pushgateway.mon:9091",
    )
    docs = documents(text)
    kinds = sorted({d["kind"] for d in docs})
    expected = {"CronJob", "PersistentVolumeClaim", "Role", "RoleBinding", "ServiceAccount"}
    assert set(kinds) == expected | ({"ConfigMap"} if with_profile else set())
    assert ("give --profile FILE to print it" in text) is not with_profile
    assert SUPPORTED_VERSIONS == ("1.27", "1.37")
    assert [p for doc in docs for p in manifest_problems(doc)] == []


def test_the_cronjobs_write_to_a_team_history_named_by_a_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Issue 12: CI runners and the CronJobs write one history. `--history-secret` points every
    CronJob's DRILLS_HISTORY at a Secret's key (the URL, with its password, never in a manifest);
    the emitted documents still validate."""
    args = ["schedule", "--emit", "kubernetes", "--namespace", NS, "--image", "img:1"]
    done = invoke(capsys, monkeypatch, tmp_path, *args, "--history-secret", "drills-history")
    assert done.code == 0, done
    docs = documents(done.stdout)
    crons = [d for d in docs if d["kind"] == "CronJob"]
    assert crons
    for cron in crons:
        (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["DRILLS_HISTORY"]["valueFrom"] == {
            "secretKeyRef": {"name": "drills-history", "key": "DRILLS_HISTORY"}
        }
    assert [p for doc in docs for p in manifest_problems(doc)] == []
    refused = invoke(capsys, monkeypatch, tmp_path, *args, "--history-secret", "Team History!")
    assert refused.code == 2 and "--history-secret" in refused.line()
