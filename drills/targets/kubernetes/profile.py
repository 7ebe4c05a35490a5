"""The Kubernetes target profile: one YAML file that says which cluster, which objects, which URLs.

Example (every key but `kind`, `name`, `kubernetes.namespace`, `components.control-plane` and
`services.control_plane` is optional; without `environment:` - or with one that is not a
non-production value such as staging, test, dev, qa - the production guard refuses the profile
unless `--allow-production`)::

    kind: kubernetes
    name: maestro-staging
    environment: staging                 # anything but a non-production value needs the override
    kubernetes: {kubeconfig: ~/.kube/staging.yaml, context: staging, namespace: maestro-staging}
    components:
      control-plane: deployment/maestro-control-plane
      postgres: {kind: statefulset, name: postgresql, container: postgresql}
      neo4j: {kind: statefulset, name: neo4j, container: neo4j}   # the graph store
      redis: deployment/redis
    services:
      control_plane: "https://maestro.staging.example"
      control_plane_tls: {ca_bundle: certs/staging-ca.pem}   # or {insecure: true}; default: system
      redis: "redis://redis:6379/0"
    database:
      pod: postgresql-0                  # where `psql` runs (default: <postgres statefulset>-0)
      standby_pod: postgresql-standby-0  # default: <postgres-standby statefulset>-0
      user: postgres
      password_env_in_pod: POSTGRES_PASSWORD   # a variable *inside* the pod; never sent by us
      conninfo: {host: pg.staging.example, user: drills, password: {env: PGPASSWORD}}
    maintenance: {manifest: k8s/maintenance-mode.yaml}
    network: {pod_selector: {app.kubernetes.io/name: maestro}, ingress: maestro}
    jobs:                                # Job templates; each step without one refuses
      backup: k8s/backup-job.yaml        # gets DRILLS_BACKUP_ID, DRILLS_COMPONENT
      restore: k8s/restore-job.yaml      # + DRILLS_TARGET_TIME for point-in-time recovery
      verify: k8s/verify-backup-job.yaml
      rebuild_standby: k8s/reseed-standby-job.yaml
      promote: k8s/promote-job.yaml      # optional: default is pg_promote() in the standby pod
      restore_neo4j: k8s/restore-neo4j-job.yaml   # restore-neo4j.sh: gets DRILLS_BACKUP_ID
    objectives: {rto_seconds: 15m, rpo_seconds: 5m}

Secrets are references (`{env: VAR}` or `{secret: NAME, key: KEY}`), resolved late by the driver
and never part of `to_json()` or `describe()`. Every problem is one `ProfileError` line that
names the file and the key. Relative paths are relative to the profile file.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from drills.controlplane.trust import SYSTEM_TRUST, TlsTrust
from drills.errors import InputError, ProfileError
from drills.objectives import ObjectiveTargets
from drills.targets.base import Component, TargetKind
from drills.targets.kubernetes.fields import FieldReader, yaml_problem
from drills.targets.kubernetes.names import check_dns_label
from drills.targets.kubernetes.resources import MANIFEST_KINDS

__all__ = [
    "JOB_PURPOSES",
    "ClusterSettings",
    "ComponentSpec",
    "DatabaseSettings",
    "EnvSecret",
    "JobTemplates",
    "KubeSecret",
    "KubernetesProfile",
    "NetworkSettings",
    "SecretRef",
    "WorkloadKind",
    "load_profile",
    "parse_profile",
]

KIND = TargetKind.KUBERNETES
_TOP_KEYS = frozenset(
    {"kind", "name", "environment", "kubernetes", "components", "services", "database",
     "maintenance", "network", "jobs", "objectives", "monitoring"}
)  # fmt: skip


class WorkloadKind(StrEnum):
    DEPLOYMENT = "Deployment"
    STATEFULSET = "StatefulSet"


@dataclass(frozen=True)
class EnvSecret:
    """A secret read from an environment variable of the runner."""

    variable: str

    def to_json(self) -> dict[str, str]:
        return {"env": self.variable}


@dataclass(frozen=True)
class KubeSecret:
    """A secret read from a key of a Kubernetes Secret in the profile's namespace."""

    name: str
    key: str

    def to_json(self) -> dict[str, str]:
        return {"secret": self.name, "key": self.key}


SecretRef = EnvSecret | KubeSecret


@dataclass(frozen=True)
class ClusterSettings:
    namespace: str
    kubeconfig: Path | None = None
    context: str | None = None


@dataclass(frozen=True)
class ComponentSpec:
    """Which workload is a component, and (optionally) its main container and pod labels."""

    component: Component
    kind: WorkloadKind
    name: str
    container: str | None = None
    selector: Mapping[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "name": self.name,
            "container": self.container,
            "selector": None if self.selector is None else dict(self.selector),
        }


@dataclass(frozen=True)
class DatabaseSettings:
    """Where `psql` runs in the cluster, and how the runner reaches PostgreSQL for its signal."""

    pod: str | None = None
    standby_pod: str | None = None
    container: str | None = None
    user: str = "postgres"
    dbname: str = "postgres"
    password_env_in_pod: str | None = None
    conninfo: Mapping[str, str] | None = None
    password: SecretRef | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "pod": self.pod,
            "standby_pod": self.standby_pod,
            "container": self.container,
            "user": self.user,
            "dbname": self.dbname,
            "password_env_in_pod": self.password_env_in_pod,
            "conninfo": None if self.conninfo is None else self._conninfo_json(),
        }

    def _conninfo_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.conninfo or {})
        if self.password is not None:
            out["password"] = self.password.to_json()  # the reference, never the value
        return out


@dataclass(frozen=True)
class NetworkSettings:
    pod_selector: Mapping[str, str] | None = None
    ingress: str | None = None


JOB_PURPOSES = ("backup", "restore", "verify", "promote", "rebuild_standby", "restore_neo4j")


@dataclass(frozen=True)
class JobTemplates:
    """The profile's Job templates, by purpose (each optional; a step without one refuses)."""

    backup: Mapping[str, Any] | None = None
    restore: Mapping[str, Any] | None = None
    verify: Mapping[str, Any] | None = None
    promote: Mapping[str, Any] | None = None
    rebuild_standby: Mapping[str, Any] | None = None
    restore_neo4j: Mapping[str, Any] | None = None  # the graph store's restore (restore-neo4j)

    def get(self, purpose: str) -> Mapping[str, Any] | None:
        template: Mapping[str, Any] | None = getattr(self, purpose)
        return template

    def to_json(self) -> dict[str, str | None]:
        return {
            purpose: None if (job := self.get(purpose)) is None else _ref(job)
            for purpose in JOB_PURPOSES
        }


@dataclass(frozen=True)
class MonitoringSettings:
    """The cluster's own Prometheus and Alertmanager (the monitoring-alerts drill reads them;
    drills installs nothing there: the rules go in with `drills alerts --emit prometheus-rule`)."""

    prometheus_url: str
    alertmanager_url: str


@dataclass(frozen=True)
class KubernetesProfile:
    """A parsed, validated Kubernetes target profile (no secret values inside)."""

    name: str
    cluster: ClusterSettings
    components: Mapping[Component, ComponentSpec]
    control_plane_url: str
    control_plane_tls: TlsTrust = SYSTEM_TRUST
    redis_url: str | None = None
    database: DatabaseSettings | None = None
    maintenance_manifest: tuple[Mapping[str, Any], ...] = ()
    network: NetworkSettings = field(default_factory=NetworkSettings)
    jobs: JobTemplates = field(default_factory=JobTemplates)
    objectives: ObjectiveTargets = field(default_factory=ObjectiveTargets)
    source: Path | None = None
    kind: TargetKind = KIND
    environment: str | None = None  # the production guard wants a non-production value here
    monitoring: MonitoringSettings | None = None

    def secret_refs(self) -> tuple[SecretRef, ...]:
        db = self.database
        return () if db is None or db.password is None else (db.password,)

    def secret_names(self) -> tuple[str, ...]:
        """Kubernetes Secrets the runner must read (`get`, by name, in the Role)."""
        return tuple(sorted({r.name for r in self.secret_refs() if isinstance(r, KubeSecret)}))

    def to_json(self) -> dict[str, Any]:
        """JSON-safe description for reports: references to secrets, never their values."""
        return {
            "kind": self.kind,
            "name": self.name,
            "environment": self.environment,
            "kubernetes": {
                "kubeconfig": None
                if self.cluster.kubeconfig is None
                else str(self.cluster.kubeconfig),
                "context": self.cluster.context,
                "namespace": self.cluster.namespace,
            },
            "components": {c.value: spec.to_json() for c, spec in self.components.items()},
            "services": {
                "control_plane": self.control_plane_url,
                "control_plane_tls": self.control_plane_tls.to_json(),
                "redis": self.redis_url,
            },
            "database": None if self.database is None else self.database.to_json(),
            "maintenance_objects": [_ref(doc) for doc in self.maintenance_manifest],
            "network": {
                "pod_selector": _plain(self.network.pod_selector),
                "ingress": self.network.ingress,
            },
            "jobs": self.jobs.to_json(),
            "objectives": dataclasses.asdict(self.objectives),
        }

    def describe(self) -> str:
        cluster = self.cluster
        lines = [
            f"kubernetes target {self.name!r}: namespace {cluster.namespace!r}, "
            f"context {cluster.context or '(current)'}, "
            f"kubeconfig {cluster.kubeconfig or '(default or in-cluster)'}",
            f"  control plane: {self.control_plane_url}"
            + (
                f" (trusting {self.control_plane_tls.describe()})"
                if self.control_plane_url.startswith("https:")
                else ""
            ),
        ]
        for component, spec in self.components.items():
            lines.append(f"  {component.value}: {spec.kind.value.lower()}/{spec.name}")
        if self.database is not None:
            lines.append(f"  psql in pod: {self.database.pod or '(first postgres pod)'}")
        for ref in self.secret_refs():
            lines.append(f"  secret: {_secret_text(ref)} (resolved at run time)")
        return "\n".join(lines)


def load_profile(path: Path | str) -> KubernetesProfile:
    """Read and validate a profile file; every problem is one `ProfileError` line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the profile ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{path}: not UTF-8 text (at byte {exc.start})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML ({yaml_problem(exc)})") from None
    return parse_profile(data, source=path)


def parse_profile(data: object, *, source: Path | None = None) -> KubernetesProfile:
    """Validate an already-loaded profile mapping (`source` names it in errors, anchors paths)."""
    r = FieldReader(str(source) if source else "profile", source.parent if source else Path.cwd())
    top = r.mapping(data, "", required=True)
    assert top is not None
    r.only(top, _TOP_KEYS, "")
    kind = r.string(top, "kind", required=True)
    if kind != KIND:
        raise r.error("kind", f"{kind!r} is not a kubernetes profile (expected kind: {KIND})")
    cluster_map = r.mapping(top.get("kubernetes"), "kubernetes", required=True)
    assert cluster_map is not None
    r.only(cluster_map, {"kubeconfig", "context", "namespace"}, "kubernetes")
    kubeconfig = r.string(cluster_map, "kubeconfig", where="kubernetes")
    namespace = r.string(cluster_map, "namespace", where="kubernetes", required=True) or ""
    try:
        check_dns_label(namespace, "namespace")  # a label: no dots, at most 63 characters
    except InputError as exc:
        raise r.error("kubernetes.namespace", str(exc)) from None
    cluster = ClusterSettings(
        namespace=namespace,
        kubeconfig=None if kubeconfig is None else r.path(kubeconfig),
        context=r.string(cluster_map, "context", where="kubernetes"),
    )
    services = r.mapping(top.get("services"), "services", required=True)
    assert services is not None
    r.only(services, {"control_plane", "control_plane_tls", "redis"}, "services")
    url = r.url(services, "control_plane", where="services", schemes=("http", "https"))
    assert url is not None
    trust = _trust(r, services.get("control_plane_tls"), url, source)
    network = r.mapping(top.get("network"), "network") or {}
    r.only(network, {"pod_selector", "ingress"}, "network")
    try:
        objectives = ObjectiveTargets.from_mapping(
            r.mapping(top.get("objectives"), "objectives") or {}
        )
    except InputError as exc:
        raise ProfileError(f"{r.source}: {exc}") from None
    return KubernetesProfile(
        name=r.string(top, "name", required=True) or "",
        cluster=cluster,
        components=types.MappingProxyType(_components(r, top.get("components"))),
        control_plane_url=url.rstrip("/"),
        control_plane_tls=trust,
        redis_url=r.url(
            services, "redis", where="services", schemes=("redis", "rediss"), required=False
        ),
        database=_database(r, top.get("database")),
        maintenance_manifest=_maintenance(r, top.get("maintenance"), cluster.namespace),
        network=NetworkSettings(
            pod_selector=r.labels(network.get("pod_selector"), "network.pod_selector"),
            ingress=r.dns_name(network, "ingress", where="network"),
        ),
        jobs=_jobs(r, top.get("jobs"), cluster.namespace),
        objectives=objectives,
        source=source,
        environment=r.string(top, "environment"),
        monitoring=_monitoring(r, top.get("monitoring")),
    )


def _trust(r: FieldReader, raw: object, url: str, source: Path | None) -> TlsTrust:
    where = "services.control_plane_tls"
    if raw is not None and not url.startswith("https:"):
        raise r.error(where, f"applies to an https control plane, not {url}")
    base = source.parent if source else Path.cwd()
    try:
        return TlsTrust.from_profile(raw, base, where)
    except ProfileError as exc:
        raise ProfileError(f"{r.source}: {exc}") from None


def _monitoring(r: FieldReader, raw: object) -> MonitoringSettings | None:
    found = r.mapping(raw, "monitoring")
    if found is None:
        return None
    r.only(found, {"prometheus", "alertmanager"}, "monitoring")
    schemes = ("http", "https")
    prometheus = r.url(found, "prometheus", where="monitoring", schemes=schemes)
    alertmanager = r.url(found, "alertmanager", where="monitoring", schemes=schemes)
    assert prometheus is not None and alertmanager is not None
    return MonitoringSettings(prometheus.rstrip("/"), alertmanager.rstrip("/"))


def _components(r: FieldReader, raw: object) -> dict[Component, ComponentSpec]:
    comps = r.mapping(raw, "components", required=True)
    assert comps is not None
    known = {c.value for c in Component}
    r.only(comps, known, "components")
    if Component.CONTROL_PLANE.value not in comps:
        raise r.error("components", "missing key 'control-plane'")
    out: dict[Component, ComponentSpec] = {}
    for key, value in comps.items():
        where = f"components.{key}"
        component = Component(key)
        if isinstance(value, str):
            kind_text, _, name = value.partition("/")
            value = {"kind": kind_text, "name": name}
        spec = r.mapping(value, where, required=True)
        assert spec is not None
        r.only(spec, {"kind", "name", "container", "selector"}, where)
        kind_text = (r.string(spec, "kind", where=where, required=True) or "").lower()
        kinds = {k.value.lower(): k for k in WorkloadKind}
        if kind_text not in kinds:
            raise r.error(where, f"kind {kind_text!r} is not deployment or statefulset")
        out[component] = ComponentSpec(
            component=component,
            kind=kinds[kind_text],
            name=r.dns_name(spec, "name", where=where, required=True) or "",
            container=r.string(spec, "container", where=where),
            selector=r.labels(spec.get("selector"), f"{where}.selector"),
        )
    return out


def _database(r: FieldReader, raw: object) -> DatabaseSettings | None:
    db = r.mapping(raw, "database")
    if db is None:
        return None
    keys = {"pod", "standby_pod", "container", "user", "dbname", "password_env_in_pod", "conninfo"}
    r.only(db, keys, "database")
    conninfo = r.mapping(db.get("conninfo"), "database.conninfo")
    plain: dict[str, str] | None = None
    password: SecretRef | None = None
    if conninfo is not None:
        plain = {}
        for key, value in conninfo.items():
            if key == "password":
                password = _secret(r, value, "database.conninfo.password")
            elif isinstance(value, str | int) and not isinstance(value, bool):
                plain[str(key)] = str(value)
            else:
                raise r.error(f"database.conninfo.{key}", f"expected a string, got {value!r}")
    env_name = r.string(db, "password_env_in_pod", where="database")
    if env_name is not None and not env_name.replace("_", "a").isalnum():
        raise r.error("database.password_env_in_pod", f"{env_name!r} is not a variable name")
    return DatabaseSettings(
        pod=r.dns_name(db, "pod", where="database"),
        standby_pod=r.dns_name(db, "standby_pod", where="database"),
        container=r.string(db, "container", where="database"),
        user=r.string(db, "user", where="database") or "postgres",
        dbname=r.string(db, "dbname", where="database") or "postgres",
        password_env_in_pod=env_name,
        conninfo=None if plain is None else types.MappingProxyType(plain),
        password=password,
    )


def _maintenance(r: FieldReader, raw: object, namespace: str) -> tuple[Mapping[str, Any], ...]:
    section = r.mapping(raw, "maintenance")
    if section is None:
        return ()
    r.only(section, {"manifest"}, "maintenance")
    path = r.path(r.string(section, "manifest", where="maintenance", required=True) or "")
    docs = [doc for doc in r.yaml_docs(path, "maintenance.manifest") if doc is not None]
    if not docs:
        raise r.error("maintenance.manifest", f"{path} holds no objects")
    allowed = ", ".join(f"{kind} ({api})" for api, kind in MANIFEST_KINDS)
    for index, doc in enumerate(docs):
        where = f"maintenance.manifest[{index}]"
        obj = r.mapping(doc, where, required=True)
        assert obj is not None
        if (obj.get("apiVersion"), obj.get("kind")) not in MANIFEST_KINDS:
            raise r.error(where, f"{obj.get('kind')!r} is not one of the kinds allowed: {allowed}")
        _check_metadata(r, obj, where, namespace)
    return tuple(types.MappingProxyType(doc) for doc in docs)


def _jobs(r: FieldReader, raw: object, namespace: str) -> JobTemplates:
    jobs = r.mapping(raw, "jobs") or {}
    r.only(jobs, set(JOB_PURPOSES), "jobs")
    return JobTemplates(**{p: _job(r, jobs, p, namespace) for p in JOB_PURPOSES})


def _job(
    r: FieldReader, jobs: Mapping[str, Any], purpose: str, namespace: str
) -> Mapping[str, Any] | None:
    text = r.string(jobs, purpose, where="jobs")
    if text is None:
        return None
    where = f"jobs.{purpose}"
    docs = [doc for doc in r.yaml_docs(r.path(text), where) if doc is not None]
    if len(docs) != 1:
        raise r.error(where, f"a Job template holds exactly one object, found {len(docs)}")
    job = r.mapping(docs[0], where, required=True)
    assert job is not None
    if job.get("apiVersion") != "batch/v1" or job.get("kind") != "Job":
        raise r.error(where, "expected apiVersion: batch/v1 and kind: Job")
    _check_metadata(r, job, where, namespace)
    containers = (((job.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers"
    )
    if not isinstance(containers, list) or not containers:
        raise r.error(where, "spec.template.spec.containers must list at least one container")
    return types.MappingProxyType(job)


def _check_metadata(r: FieldReader, obj: Mapping[str, Any], where: str, namespace: str) -> None:
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise r.error(where, "metadata.name is required")
    if meta.get("namespace") not in (None, namespace):
        raise r.error(
            where,
            f"metadata.namespace {meta['namespace']!r} differs from the profile's {namespace!r}",
        )


def _secret(r: FieldReader, value: object, where: str) -> SecretRef:
    if isinstance(value, dict) and set(value) == {"env"} and isinstance(value["env"], str):
        return EnvSecret(value["env"])
    if (
        isinstance(value, dict)
        and set(value) == {"secret", "key"}
        and all(isinstance(item, str) and item for item in value.values())
    ):
        return KubeSecret(value["secret"], value["key"])
    raise r.error(where, "a secret must be a reference: {env: VAR} or {secret: NAME, key: KEY}")


def _ref(doc: Mapping[str, Any]) -> str:
    return f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


def _plain(labels: Mapping[str, str] | None) -> dict[str, str] | None:
    return None if labels is None else dict(labels)


def _secret_text(ref: SecretRef) -> str:
    if isinstance(ref, EnvSecret):
        return f"env ${ref.variable}"
    return f"secret {ref.name}/{ref.key}"
