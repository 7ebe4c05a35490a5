"""An emulated staging cluster for end-to-end drills: API server, controllers, service, profile.

`Staging` bundles the kmock API server (seeded like `conftest.seed_cluster`, plus a standby
StatefulSet), the `ClusterEmulator` acting on it, the `EmulatedService` whose health follows
the pods, and a profile + kubeconfig pointing at both; `drills()` runs the real CLI in a
subprocess against it, with the settings that keep a drill short.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from drills.targets.kubernetes.permissions import rules_for_profile
from drills.targets.kubernetes.profile import load_profile
from tests.drills_process import run_drills
from tests.k8s import objects as o
from tests.k8s.cluster_emulator import ClusterEmulator
from tests.k8s.conftest import MAINTENANCE, POSTGRES, job_template, seed_cluster
from tests.k8s.dr_scripts import DrScripts
from tests.k8s.emulated_service import EmulatedService
from tests.k8s.kube_server import INGRESSES, PODS, STATEFULSETS, KubeServer
from tests.k8s.rbac import uncovered
from tests.k8s.test_safety import kubeconfig

STANDBY = {"app": "postgresql-standby"}
NEO4J = {"app": "neo4j"}
SAMPLE_INTERVAL = 0.1

PROFILE = """\
kind: kubernetes
name: maestro-staging
environment: staging
kubernetes: {{namespace: maestro-staging, kubeconfig: {kubeconfig}}}
components:
  control-plane: {{kind: deployment, name: maestro-control-plane, container: maestro}}
  postgres: {{kind: statefulset, name: postgresql, container: postgresql}}
  postgres-standby: {{kind: statefulset, name: postgresql-standby, container: postgresql}}
  redis: deployment/redis
  neo4j: {{kind: statefulset, name: neo4j, container: neo4j}}
services: {{control_plane: "{url}"}}
{database}maintenance: {{manifest: maintenance.yaml}}
network: {{ingress: maestro}}
jobs:
  backup: backup-job.yaml
  restore: restore-job.yaml
  verify: verify-job.yaml
  promote: promote-job.yaml
  rebuild_standby: rebuild-standby-job.yaml
  restore_neo4j: restore-neo4j-job.yaml
objectives: {{rto_seconds: {rto}, rpo_seconds: 300}}
"""


@dataclass
class Staging:
    kube: KubeServer
    emulator: ClusterEmulator
    service: EmulatedService
    profile: Path
    home: Path
    pg_password: str = ""  # the real PostgreSQL's (scram), given to the CLI by environment

    def outside_the_role(self) -> list[str]:
        """Requests the drills sent that the profile's tailored Role does not grant."""
        return uncovered(self.kube.driver_requests(), self.kube.handler.rules)

    def drills(
        self, *args: str, timeout: float = 240.0, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        quick = {
            "DRILLS_BASELINE": "1",
            "DRILLS_OBSERVE_AFTER": "1",
            "DRILLS_CANARY_RATE": "20",
            "DRILLS_SAMPLE_INTERVAL": str(SAMPLE_INTERVAL),
            "NO_COLOR": "1",
            "COLUMNS": "200",
            **({PG_PASSWORD_ENV: self.pg_password} if self.pg_password else {}),
            **(env or {}),
        }
        return run_drills(*args, home=self.home, env=quick, inherit=True, timeout=timeout)


PG_PASSWORD_ENV = "DRILLS_STAGING_PGPASSWORD"


def start_staging(
    tmp_path: Path,
    kube: KubeServer,
    *,
    rto_seconds: int = 900,
    postgres_port: int | None = None,
    postgres_password: str = "",
    scripts: DrScripts | None = None,
    graph: bool = True,
) -> Staging:
    """The cluster, its emulator and service, and a profile; `postgres_port`: a real PostgreSQL
    (the primary of a `database_pair`) as `database.conninfo`, for drills that read SQL.

    With `scripts` (a `start_restorable_pair`), its primary is `database.conninfo`, the service
    keeps its data there, and the backup/restore Jobs really back up and restore it. Without
    `graph` the profile names no neo4j (the emulator runs no cypher-shell: a drill that queries the
    graph store skips its graph steps, as on a cluster without one)."""
    if scripts is not None:
        postgres_port, postgres_password = scripts.primary.port, scripts.primary.password
    seed_cluster(kube)
    kube.seed(STATEFULSETS, o.statefulset("postgresql-standby", STANDBY))
    kube.seed(PODS, o.pod("postgresql-standby-0", STANDBY, container="postgresql"))
    kube.seed(STATEFULSETS, o.statefulset("neo4j", NEO4J, container="neo4j"))
    kube.seed(PODS, o.pod("neo4j-0", NEO4J, container="neo4j"))
    kube.seed(INGRESSES, o.ingress("maestro"))
    (tmp_path / "maintenance.yaml").write_text(MAINTENANCE)
    for pod in ("maestro-control-plane-7d9f-a", "postgresql-0", "redis-5c4b-a", "neo4j-0"):
        kube.handler.logs[pod] = f"{pod}: serving\n"
    emulator = ClusterEmulator(kube, standby="postgresql-standby", scripts=scripts, neo4j="neo4j")
    emulator.start()
    service = EmulatedService(
        emulator, database=None if scripts is None else scripts.primary.conninfo()
    )
    config = kubeconfig(tmp_path / "kubeconfig", kube.url, "staging")
    for purpose in ("backup", "restore", "verify", "promote", "rebuild-standby", "restore-neo4j"):
        (tmp_path / f"{purpose}-job.yaml").write_text(job_template(f"pg-{purpose}", purpose))
    profile = tmp_path / "profile.yaml"
    database = ""
    if postgres_port is not None:
        conninfo = f"host: 127.0.0.1, port: {postgres_port}, user: postgres, dbname: maestro"
        if postgres_password:
            conninfo += f", password: {{env: {PG_PASSWORD_ENV}}}"
        database = f"database: {{conninfo: {{{conninfo}}}}}\n"
    text = PROFILE.format(kubeconfig=config, url=service.url, rto=rto_seconds, database=database)
    if not graph:
        text = "".join(line for line in text.splitlines(keepends=True) if "neo4j" not in line)
    profile.write_text(text)
    # The API server authorizes (SelfSubjectAccessReviews) with the Role `drills schedule
    # --profile` prints for this profile: a drill that needs more is refused by its preflight.
    kube.handler.rules = list(rules_for_profile(load_profile(profile)))
    assert POSTGRES  # the primary's labels, seeded by seed_cluster
    return Staging(kube, emulator, service, profile, tmp_path / "home", postgres_password)


def report(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "report.json").read_text())
    return data


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
