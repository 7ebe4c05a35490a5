"""The Kubernetes target profile: strict, one-line errors, secrets by reference only."""

from __future__ import annotations

from pathlib import Path

import kmock
import pytest

from drills.errors import ExitCode, ProfileError
from drills.targets.base import Component
from drills.targets.kubernetes.credentials import resolve_secret
from drills.targets.kubernetes.driver import KubernetesTarget
from drills.targets.kubernetes.permissions import secrets_rule
from drills.targets.kubernetes.profile import (
    EnvSecret,
    KubernetesProfile,
    KubeSecret,
    WorkloadKind,
    load_profile,
)
from tests.k8s import objects as o
from tests.k8s.conftest import PROFILE, write_profile
from tests.k8s.kube_server import KubeServer

pytestmark = pytest.mark.k8s


def test_a_full_profile_loads(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path))

    assert profile.kind == "kubernetes" and profile.name == "maestro-staging"
    assert profile.cluster.namespace == "maestro-staging" and profile.cluster.kubeconfig is None
    control = profile.components[Component.CONTROL_PLANE]
    assert (control.kind, control.name, control.container) == (
        WorkloadKind.DEPLOYMENT,
        "maestro-control-plane",
        "maestro",
    )
    redis = profile.components[Component.REDIS]  # the kubectl-style shorthand
    assert (redis.kind, redis.name, redis.container) == (WorkloadKind.DEPLOYMENT, "redis", None)
    assert profile.components[Component.POSTGRES].kind is WorkloadKind.STATEFULSET
    assert Component.POSTGRES_STANDBY not in profile.components
    assert profile.control_plane_url == "http://127.0.0.1:9"  # trailing slash dropped
    assert profile.database is not None and profile.database.password == EnvSecret(
        "DRILLS_TEST_PGPASSWORD"
    )
    assert [d["kind"] for d in profile.maintenance_manifest] == ["ConfigMap", "Service", "Ingress"]
    assert (
        profile.jobs.backup is not None and profile.jobs.backup["metadata"]["name"] == "pg-backup"
    )
    assert profile.jobs.verify is None and profile.jobs.to_json()["restore"] == "Job/pg-restore"
    assert profile.objectives.rto_seconds == 900.0 and profile.objectives.rpo_seconds == 300.0


def test_secrets_stay_references_in_every_description(kube: KubeServer, tmp_path: Path) -> None:
    text = PROFILE.replace(
        "password: {env: DRILLS_TEST_PGPASSWORD}", "password: {secret: pg-app, key: password}"
    )
    profile = load_profile(write_profile(tmp_path, text))
    kube.seed(kmock.resource("", "v1", "secrets"), o.secret("pg-app", password="n0t-in-rep0rts"))
    kube.extra_rules.append(secrets_rule(profile.secret_names()))  # what the schedule grants
    target = KubernetesTarget(profile, kube.api_client())

    assert profile.database is not None and profile.database.password == KubeSecret(
        "pg-app", "password"
    )
    assert resolve_secret(profile.database.password, target.gateway) == "n0t-in-rep0rts"
    conninfo = next(s.address for s in target.signals() if s.name == "postgres")
    for text in (repr(profile.to_json()), profile.describe(), repr(profile), conninfo):
        assert "n0t-in-rep0rts" not in text
    assert profile.to_json()["database"]["conninfo"]["password"] == {
        "secret": "pg-app",
        "key": "password",
    }
    assert "secret pg-app/password (resolved at run time)" in profile.describe()
    assert [r.url.path for r in kube.driver_requests()] == [
        "/api/v1/namespaces/maestro-staging/secrets/pg-app"
    ] * 2
    target.close()


def test_a_missing_environment_secret_names_the_variable_not_a_value(
    kube: KubeServer, profile: KubernetesProfile
) -> None:
    target = KubernetesTarget(profile, kube.api_client(), environ={})
    with pytest.raises(
        ProfileError, match=r"environment variable DRILLS_TEST_PGPASSWORD .* is not set"
    ):
        target.signals()


def edit(old: str, new: str) -> str:
    assert old in PROFILE, old
    return PROFILE.replace(old, new)


BAD = [
    ("kind: [kubernetes\n", r"not valid YAML \(line 2"),
    ("", "empty profile"),
    ("- kind: kubernetes\n", "expected a mapping, got list"),
    (edit("kind: kubernetes\n", ""), "missing key 'kind'"),
    (edit("kind: kubernetes", "kind: sandbox"), "kind: 'sandbox' is not a kubernetes profile"),
    (edit("{namespace: maestro-staging}", "{context: x}"), "kubernetes: missing key 'namespace'"),
    (edit("namespace: maestro-staging", "namespace: 42"), "kubernetes.namespace: expected a non-empty string, got 42"),
    (edit("namespace: maestro-staging", "namespace: Maestro_Staging"), "not a valid Kubernetes name"),
    (edit("{namespace: maestro-staging}", "{namespace: a, kubeconfg: x}"), "kubernetes: unknown key 'kubeconfg'"),
    (edit("objectives:", "objectivs:"), "unknown key 'objectivs'"),
    (edit("  control-plane: {kind: deployment, name: maestro-control-plane, container: maestro}\n", ""),
     "components: missing key 'control-plane'"),
    (edit("redis: deployment/redis", "redis: daemonset/redis"), "components.redis: kind 'daemonset' is not"),
    (edit("redis: deployment/redis", "cache: deployment/redis"), "components: unknown key 'cache'"),
    (edit('control_plane: "http://127.0.0.1:9/"', 'control_plane: "ftp://x"'), "services.control_plane: 'ftp://x' is not a http or https URL"),
    (edit("password: {env: DRILLS_TEST_PGPASSWORD}", "password: hunter2"), "a secret must be a reference"),
    (edit("rto_seconds: 15m", "rto_seconds: fast"), "objectives: rto_seconds"),
    (edit("{manifest: maintenance.yaml}", "{manifest: missing.yaml}"), "maintenance.manifest: cannot read .*missing.yaml"),
    (edit("backup: backup-job.yaml", "bakup: backup-job.yaml"), "jobs: unknown key 'bakup'"),
    (edit("backup: backup-job.yaml", "backup: maintenance.yaml"), "jobs.backup: a Job template holds exactly one object, found 3"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD)
def test_malformed_profiles_give_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = write_profile(tmp_path, text)
    with pytest.raises(ProfileError, match=message) as err:
        load_profile(path)
    assert "\n" not in str(err.value) and str(err.value).startswith(str(path))
    assert err.value.exit_code is ExitCode.USAGE
    assert "hunter2" not in str(err.value)


def test_a_manifest_for_another_namespace_is_refused(tmp_path: Path) -> None:
    path = write_profile(tmp_path)
    (tmp_path / "maintenance.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m, namespace: intelgraph-prod}\n"
    )
    with pytest.raises(
        ProfileError,
        match=r"metadata\.namespace 'intelgraph-prod' differs from the profile's 'maestro-staging'",
    ):
        load_profile(path)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: m}\n",
            "'Deployment' is not one of the kinds allowed",
        ),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "metadata.name is required"),
    ],
)
def test_maintenance_manifests_are_limited_to_known_kinds(
    tmp_path: Path, doc: str, message: str
) -> None:
    path = write_profile(tmp_path)
    (tmp_path / "maintenance.yaml").write_text(doc)
    with pytest.raises(ProfileError, match=message):
        load_profile(path)


def test_a_job_template_must_be_a_job(tmp_path: Path) -> None:
    path = write_profile(tmp_path)
    (tmp_path / "restore-job.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n")
    with pytest.raises(
        ProfileError, match=r"jobs\.restore: expected apiVersion: batch/v1 and kind: Job"
    ):
        load_profile(path)


def test_a_missing_profile_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read the profile"):
        load_profile(tmp_path / "nope.yaml")


def test_the_control_plane_tls_trust_comes_from_the_profile(
    kube: KubeServer, tmp_path: Path
) -> None:
    from tests.controlplane.tls_server import make_ca

    ca = make_ca(tmp_path / "certs", "staging")
    https = PROFILE.replace(
        'services: {control_plane: "http://127.0.0.1:9/",',
        'services: {control_plane: "https://127.0.0.1:9/",'
        " control_plane_tls: {ca_bundle: certs/staging.pem},",
    )
    profile = load_profile(write_profile(tmp_path, https))
    assert profile.control_plane_tls.ca_bundle == ca.ca_bundle.resolve()
    assert profile.to_json()["services"]["control_plane_tls"]["ca_bundle"] == str(
        ca.ca_bundle.resolve()
    )
    assert "trusting CA bundle" in profile.describe()
    target = KubernetesTarget(profile, kube.api_client(), environ={"DRILLS_TEST_PGPASSWORD": "x"})
    try:
        assert target.control_plane_tls == profile.control_plane_tls
        http_signals = [s for s in target.signals() if s.address.startswith("https:")]
        assert len(http_signals) == 2
        assert all(s.trust == profile.control_plane_tls for s in http_signals)
    finally:
        target.close()
    plain = load_profile(write_profile(tmp_path))
    assert plain.control_plane_tls.ca_bundle is None and not plain.control_plane_tls.insecure


@pytest.mark.parametrize(
    ("services", "problem"),
    [
        (
            'control_plane: "http://127.0.0.1:9/", control_plane_tls: {insecure: true}',
            "services.control_plane_tls: applies to an https control plane",
        ),
        (
            'control_plane: "https://127.0.0.1:9/", control_plane_tls: {ca_bundle: none.pem}',
            "services.control_plane_tls: CA bundle .*none.pem does not exist",
        ),
        (
            'control_plane: "https://127.0.0.1:9/", control_plane_tls: {verify: false}',
            r"services.control_plane_tls: expected \{ca_bundle: PATH\} or \{insecure: true\}",
        ),
        (
            'control_plane: "https://127.0.0.1:9/",'
            " control_plane_tls: {ca_bundle: x.pem, insecure: true}",
            "exclude each other",
        ),
    ],
)
def test_a_bad_tls_section_is_one_line(tmp_path: Path, services: str, problem: str) -> None:
    text = PROFILE.replace('control_plane: "http://127.0.0.1:9/"', services)
    (tmp_path / "x.pem").write_text("")
    with pytest.raises(ProfileError, match=problem) as caught:
        load_profile(write_profile(tmp_path, text))
    assert "\n" not in str(caught.value) and str(tmp_path) in str(caught.value)
    assert caught.value.exit_code is ExitCode.USAGE
