"""The Kubernetes target: the `Target` protocol, plus the runbook's cluster steps, on one namespace.

`factory.open_target(profile)` is the one factory that touches kubeconfig or the pod's service
account; it runs the production guard on the namespace, context and cluster names before a
client exists. `KubernetesTarget` itself takes an `ApiClient` by injection (tests pass one pointed at a local
API server) and routes every request through a `Gateway`, which runs the guard again and turns
mutating calls into a printed plan in dry-run mode.

Why the official client and not chaosk8s for the operations chaosk8s also has (scale, rollout
restart, terminate pods, network policies): every chaosk8s function builds its own client from
`$KUBECONFIG`/`~/.kube/config` (`kubernetes` reads `$KUBECONFIG` once, at import) or from env
variables, mutating the library's global default configuration. It cannot be handed the guarded
client, so it could act on a different context than the one the guard approved and would bypass
the dry-run plan. The driver therefore sends the same requests itself; tests/k8s pin that its
requests match chaosk8s's for the shared operations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from kubernetes import client

from drills.clock import RunClock
from drills.controlplane import paths
from drills.controlplane.trust import TlsTrust
from drills.errors import MonitoringError, TargetError
from drills.models import Sample
from drills.monitoring.api import PrometheusAPI
from drills.monitoring.capabilities import MonitoringEndpoints
from drills.monitoring.rules import CONDITION_LABEL, RuleSet
from drills.monitoring.timing import Timing
from drills.safety import Plan, PlannedCall, ProductionGuard, RunMode
from drills.targets.base import (
    Backup,
    Component,
    GraphValue,
    NetworkFault,
    SignalKind,
    SignalSpec,
    TargetKind,
)
from drills.targets.kubernetes import database, inventory, jobs, manifests, readiness
from drills.targets.kubernetes.client import ClusterIdentity
from drills.targets.kubernetes.credentials import SignalConninfo
from drills.targets.kubernetes.gateway import Gateway, JsonObject
from drills.targets.kubernetes.lease import DrillLease
from drills.targets.kubernetes.permissions import Access, access_for
from drills.targets.kubernetes.profile import (
    ComponentSpec,
    KubernetesProfile,
)
from drills.targets.kubernetes.recovery import Recovery
from drills.targets.kubernetes.resources import (
    INGRESSES,
    NETWORK_POLICIES,
    PODS,
    WORKLOADS,
)

__all__ = ["KubernetesTarget"]

logger = logging.getLogger("drills")

KILLED_LOG_LINES = 200


class KubernetesTarget:
    """Drives the workloads a profile names in one namespace of a staging cluster."""

    kind = TargetKind.KUBERNETES

    def __init__(
        self,
        profile: KubernetesProfile,
        api_client: client.ApiClient,
        *,
        identity: ClusterIdentity | None = None,
        allow_production: bool = False,
        mode: RunMode = RunMode.LIVE,
        plan: Plan | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.profile = profile
        self.name = profile.name
        self.identity = identity
        self.gateway = Gateway(
            api_client,
            profile.cluster.namespace,
            guard=ProductionGuard(allow_production=allow_production),
            context=identity.context if identity else profile.cluster.context,
            cluster=identity.cluster if identity else None,
            mode=mode,
            plan=plan,
        )
        # Every wait (a rollout, a Job) ends within the drill's watchdog: twice the RTO objective.
        self.wait_cap_seconds = 2 * profile.objectives.rto_seconds
        self.recovery = Recovery(self.gateway, profile.jobs, self.wait_cap_seconds)
        # Replica counts before the drill first changed them: what rollbacks restore and verify.
        self.recorded_replicas: dict[Component, int] = {}
        self.ended_jobs: list[str] = []  # unfinished Jobs `close()` deleted
        self.killed_logs: dict[str, str] = {}  # pod -> its log just before the drill killed it
        self._selectors: dict[Component, Mapping[str, str]] = {}
        self._signal_conninfo = SignalConninfo(profile.database, self.gateway, environ)

    # -- the Target protocol -----------------------------------------------------------------

    @property
    def control_plane_url(self) -> str:
        return self.profile.control_plane_url

    @property
    def control_plane_tls(self) -> TlsTrust:
        return self.profile.control_plane_tls

    def monitoring_endpoints(self) -> MonitoringEndpoints:
        """The profile's `monitoring: {prometheus, alertmanager}`; alerts are read from
        Alertmanager's API (v2), there is no webhook of ours in a cluster."""
        settings = self.profile.monitoring
        if settings is None:
            raise TargetError(
                f"profile {self.profile.name!r} has no monitoring: add "
                "monitoring: {prometheus: URL, alertmanager: URL}"
            )
        return MonitoringEndpoints(settings.prometheus_url, settings.alertmanager_url)

    def configure_monitoring(self, timing: Timing, ruleset: RuleSet) -> None:
        """Nothing is installed in a cluster: check that its Prometheus runs a rule for every
        runbook condition (with its `runbook_condition` label) at the runbook's pace."""
        if timing.time_scale != 1.0:
            raise TargetError(
                "a cluster's monitoring runs at its own pace: run the drill with time scale 1"
            )
        endpoints = self.monitoring_endpoints()
        api = PrometheusAPI(endpoints.prometheus_url)
        try:
            labels = {
                str((rule.get("labels") or {}).get(CONDITION_LABEL))
                for group in api.rule_groups()
                for rule in group.get("rules", [])
            }
        finally:
            api.close()
        missing = [c.value for c in ruleset.rules if c.value not in labels]
        if missing:
            raise MonitoringError(
                f"Prometheus at {endpoints.prometheus_url} has no rule for "
                f"{', '.join(missing)}; install them with "
                "`drills alerts --emit prometheus-rule | kubectl apply -f -`"
            )

    def signals(self) -> Sequence[SignalSpec]:
        url, trust = self.control_plane_url, self.control_plane_tls
        specs = [
            SignalSpec("health", SignalKind.HTTP, url + paths.HEALTH, trust=trust),
            SignalSpec("graphql", SignalKind.GRAPHQL, url + paths.GRAPHQL, trust=trust),
        ]
        conninfo = self._signal_conninfo.conninfo()
        if conninfo is not None:
            specs.append(SignalSpec("postgres", SignalKind.POSTGRES, conninfo))
        if self.profile.redis_url is not None:
            specs.append(SignalSpec("redis", SignalKind.REDIS, self.profile.redis_url))
        return tuple(specs)

    def status(self) -> dict[str, Any]:
        components: dict[str, Any] = {}
        for component, spec in self.profile.components.items():
            obj = self.gateway.get(WORKLOADS[spec.kind.value], spec.name)
            if obj is None:
                components[component.value] = {
                    "kind": spec.kind.value,
                    "name": spec.name,
                    "state": "missing",
                }
                continue
            pods = [inventory.pod_summary(pod) for pod in self._pods(component)]
            summary = inventory.workload_summary(obj)
            ready = sum(1 for pod in pods if pod["ready"])
            if summary["desired"] == 0:
                state = "stopped" if not pods else "stopping"
            else:
                state = "ready" if ready >= summary["desired"] else "degraded"
            components[component.value] = {
                "kind": spec.kind.value,
                **summary,
                "state": state,
                "pods": pods,
            }
        return {"namespace": self.gateway.namespace, "components": components}

    def kill(self, component: Component) -> list[int]:
        """Delete every pod of the component with grace 0. Pods have no pids: returns [].

        The pod names are what `kill_pods()` returns.
        """
        self.kill_pods(component)
        return []

    def kill_pods(self, component: Component) -> list[str]:
        """Delete the component's pods with grace 0; each one's log is read first (a deleted
        pod's log is gone with it) and kept for the report (`drill_window`)."""
        pods = [str(pod["metadata"]["name"]) for pod in self._pods(component)]
        if not self.gateway.dry_run:
            container = self._spec(component).container
            for name in pods:
                self.killed_logs[name] = self.gateway.pod_log(
                    name, container=container, tail_lines=KILLED_LOG_LINES
                )
        for name in pods:
            self.gateway.delete(PODS, name, grace_period_seconds=0)
        return pods

    def restart(
        self, component: Component, wait: bool = True, timeout_seconds: float = 120.0
    ) -> None:
        """`kubectl rollout restart`, then (if `wait`) watch until the rollout completes.

        A component the drill scaled (to 0, say) is first scaled back to its recorded count.
        """
        spec = self._spec(component)
        res = WORKLOADS[spec.kind.value]
        recorded = self.recorded_replicas.get(component)
        if recorded is not None and self._desired(component) != recorded:
            body = manifests.scale_body(recorded)
            self.gateway.patch(res, spec.name, body, sub="scale")
        patched = self.gateway.patch(res, spec.name, manifests.restart_patch())
        if wait:
            self._wait_rollout(spec, patched, timeout_seconds)

    def scale(
        self, component: Component, replicas: int, wait: bool = True, timeout_seconds: float = 120.0
    ) -> None:
        """`kubectl scale --replicas=N` (the `/scale` subresource), then wait for the rollout.

        The count before the drill's first scale of the component is recorded: rollbacks
        restore it (`restart`) and `wait_ready` does not call a component ready below it.
        """
        spec = self._spec(component)
        if component not in self.recorded_replicas and not self.gateway.dry_run:
            self.recorded_replicas[component] = self._desired(component)
        body = manifests.scale_body(replicas)
        patched = self.gateway.patch(WORKLOADS[spec.kind.value], spec.name, body, sub="scale")
        if wait:
            self._wait_rollout(spec, patched, timeout_seconds)

    def replicas(self, component: Component) -> int:
        """Pods of the component that are running and not terminating."""
        return sum(
            1
            for pod in self._pods(component)
            if (pod.get("status") or {}).get("phase") == "Running"
            and not (pod.get("metadata") or {}).get("deletionTimestamp")
        )

    def wait_ready(self, component: Component, timeout_seconds: float = 120.0) -> float:
        """Wait for the rollout; a component below its recorded count is not ready (0 of 2
        replicas is a stopped service, not a completed rollout): TargetError at once."""
        spec = self._spec(component)
        recorded = self.recorded_replicas.get(component)
        if recorded is not None and (desired := self._desired(component)) < recorded:
            raise TargetError(
                f"{spec.kind.value.lower()} {spec.name} runs {desired} replicas; "
                f"{recorded} before the drill"
            )
        return readiness.wait_for_rollout(
            self.gateway,
            WORKLOADS[spec.kind.value],
            spec.name,
            spec.kind,
            timeout_seconds=self._bounded(timeout_seconds),
        )

    def logs(self, component: Component, lines: int = 100) -> str:
        container = self._spec(component).container
        parts = []
        for pod in self._pods(component):
            name = str(pod["metadata"]["name"])
            text = self.gateway.pod_log(name, container=container, tail_lines=lines)
            parts.append(f"==> {name} <==\n{text.rstrip()}")
        return "\n".join(parts)

    def set_maintenance(self, enabled: bool) -> None:
        """Apply (enabled) or delete (disabled) the profile's maintenance-mode manifest."""
        docs = self.profile.maintenance_manifest
        if not docs:
            raise TargetError("the profile has no maintenance.manifest to apply")
        objects = manifests.maintenance_objects(docs, self.gateway.namespace)
        if enabled:
            for res, body in objects:
                self.gateway.apply(res, body)
        else:
            for res, body in reversed(objects):
                self.gateway.delete(res, str(body["metadata"]["name"]))

    def set_rate_limit(self, limit: str | None) -> None:
        """ingress-nginx rate limit on the profile's Ingress ('50/second'; None removes it)."""
        ingress = self.profile.network.ingress
        if ingress is None:
            raise TargetError("the profile names no network.ingress to rate-limit")
        self.gateway.patch(INGRESSES, ingress, manifests.rate_limit_patch(limit))

    def block_addresses(self, addresses: Sequence[str]) -> None:
        """A NetworkPolicy denying these addresses to the service's pods; [] removes it."""
        if not addresses:
            self.gateway.delete(NETWORK_POLICIES, manifests.BLOCK_POLICY_NAME)
            return
        selector = self.profile.network.pod_selector or self._selector(Component.CONTROL_PLANE)
        body = manifests.network_policy(self.gateway.namespace, selector, addresses)
        self.gateway.apply(NETWORK_POLICIES, body)

    def take_backup(self, component: Component, timeout_seconds: float = 1800.0) -> Backup:
        """Run the profile's backup Job (`DRILLS_BACKUP_ID` chosen here) to the end."""
        return self.recovery.take_backup(component, timeout_seconds)

    def list_backups(self, component: Component) -> list[Backup]:
        return self.recovery.list_backups(component)

    def backup_freshness(self) -> dict[str, Any]:
        """Age of the newest PostgreSQL base backup a drills backup Job took (reads only).

        The cluster's WAL archive is the profile's Jobs' business, unknown here: the newest
        restorable point is taken to be that backup, so the exposure is an upper bound.
        """
        backups = self.list_backups(Component.POSTGRES)
        if not backups:
            return {"backup_age_seconds": None, "rpo_exposure_seconds": None,
                    "restorable_point_age_seconds": None,
                    "detail": "no succeeded drills backup Job of postgres"}  # fmt: skip
        age = (datetime.now(UTC) - backups[-1].taken_at).total_seconds()
        return {
            "backup_id": backups[-1].backup_id,
            "backup_age_seconds": round(age, 3),
            "restorable_point_age_seconds": round(age, 3),
            "rpo_exposure_seconds": round(age, 3),
            "detail": "WAL archiving is not visible to drills: exposure is the backup's age",
        }

    def terminate_long_queries(self, older_than_seconds: float) -> list[int]:
        settings, pod = database.locate(self.profile)
        return database.terminate_long_queries(self.gateway, settings, pod, older_than_seconds)

    def promote_standby(self) -> None:
        """Promote the standby: the profile's `jobs.promote`, else `pg_promote()` in its pod."""
        if self.profile.jobs.promote is not None:
            self.recovery.run("promote", Component.POSTGRES_STANDBY, 600.0)
            return
        settings, pod = database.locate(self.profile, standby=True)
        database.promote(self.gateway, settings, pod)

    def rebuild_standby(self, timeout_seconds: float = 1800.0) -> None:
        """Fail back to primary + standby: the profile's `jobs.rebuild_standby` Job."""
        self.recovery.rebuild_standby(timeout_seconds)

    def restore_point_in_time(
        self, target_time: datetime, timeout_seconds: float = 1800.0
    ) -> Backup:
        """PITR through the restore Job (`DRILLS_TARGET_TIME`); returns the base backup used."""
        return self.recovery.restore_point_in_time(target_time, timeout_seconds)

    def restore_snapshot(
        self, component: Component, backup_id: str | None = None, timeout_seconds: float = 1800.0
    ) -> Backup:
        """Restore a component from a backup (the newest drills took when None)."""
        return self.recovery.restore_snapshot(component, backup_id, timeout_seconds)

    def verify_backup(self, backup_id: str, timeout_seconds: float = 1800.0) -> dict[str, Any]:
        """Run the profile's verify Job for `backup_id`; TargetError when it fails."""
        return self.recovery.verify_backup(backup_id, timeout_seconds)

    def graph_query(
        self, cypher: str, params: Mapping[str, GraphValue], mutating: bool = False
    ) -> list[tuple[Any, ...]]:
        """Cypher on Neo4j with `cypher-shell` in its pod (ordinal 0 of components.neo4j)."""
        from drills.targets.kubernetes.graph import run_cypher

        return run_cypher(self.gateway, self.profile, cypher, params, mutating=mutating)

    def set_network_fault(
        self, component: Component, fault: NetworkFault, latency_ms: int = 0
    ) -> None:
        """Blackhole a component (a deny-all-ingress NetworkPolicy on its pods) or heal it.

        Latency and connection resets need a proxy or a service mesh in the path, which the
        Kubernetes driver does not install: those refuse with a TargetError.
        """
        name = f"{manifests.FAULT_POLICY_PREFIX}{component.value}"
        if fault is NetworkFault.NONE:
            self.gateway.delete(NETWORK_POLICIES, name)
            return
        if fault is not NetworkFault.BLACKHOLE:
            raise TargetError(
                f"network fault {fault.value!r} needs a proxy or mesh in the path; the "
                "kubernetes driver injects only 'blackhole' (a deny-all NetworkPolicy)"
            )
        body = manifests.isolation_policy(self.gateway.namespace, name, self._selector(component))
        self.gateway.apply(NETWORK_POLICIES, body)

    def close(self) -> None:
        """Release the client; first end any Job this driver started that still runs."""
        try:
            self.ended_jobs = self.recovery.delete_unfinished()
        except TargetError as exc:
            logger.warning("could not delete the Jobs this drill started: %s", exc)
        self._signal_conninfo.close()
        api_client: Any = self.gateway.api_client  # ApiClient.close() is untyped
        api_client.close()

    # -- Kubernetes-specific steps -----------------------------------------------------------

    def restore(
        self,
        component: Component,
        backup_id: str | None = None,
        target_time: datetime | None = None,
        timeout_seconds: float = 1800.0,
    ) -> jobs.JobOutcome | None:
        """Run the profile's restore Job (`DRILLS_BACKUP_ID`, `DRILLS_TARGET_TIME`) to the end."""
        return self.recovery.run(
            "restore", component, timeout_seconds, backup_id=backup_id, target_time=target_time
        )

    def find_long_queries(self, older_than_seconds: float) -> list[database.LongQuery]:
        settings, pod = database.locate(self.profile)
        return database.find_long_queries(self.gateway, settings, pod, older_than_seconds)

    def set_resources(
        self,
        component: Component,
        *,
        requests: Mapping[str, str] | None = None,
        limits: Mapping[str, str] | None = None,
        container: str | None = None,
        wait: bool = True,
        timeout_seconds: float = 300.0,
    ) -> None:
        """Patch one container's requests/limits (the runbook's `kubectl patch statefulset`)."""
        spec = self._spec(component)
        name = container or spec.container
        if name is None:
            raise TargetError(f"name the container of {component.value} (components.*.container)")
        body = manifests.resources_patch(name, requests=requests, limits=limits)
        patched = self.gateway.patch(WORKLOADS[spec.kind.value], spec.name, body)
        if wait:
            self._wait_rollout(spec, patched, timeout_seconds)

    def list_events(self, since: datetime | None = None) -> list[dict[str, Any]]:
        return inventory.list_events(self.gateway, since=since)

    def snapshot(self) -> dict[str, Any]:
        """Pods, services, ingresses, nodes, workloads and events, as the runbook lists them."""
        return inventory.snapshot(self.gateway)

    def drill_window(
        self, since: datetime, until: datetime, log_lines: int = 200
    ) -> dict[str, Any]:
        """Cluster events and component logs between `since` and `until`, for the report.

        A component whose workload cannot be found is listed under `unavailable` with the
        reason; the rest of the evidence is still collected.
        """
        selectors: dict[str, Mapping[str, str]] = {}
        unavailable: dict[str, str] = {}
        for component in self.profile.components:
            try:
                selectors[component.value] = self._selector(component)
            except TargetError as exc:
                unavailable[component.value] = str(exc)
        containers = {c.value: spec.container for c, spec in self.profile.components.items()}
        window = inventory.drill_window(
            self.gateway,
            selectors,
            since=since,
            until=until,
            containers=containers,
            log_lines=log_lines,
        )
        return {**window, "unavailable": unavailable, "killed_pods_logs": dict(self.killed_logs)}

    def readiness_samples(
        self,
        component: Component,
        clock: RunClock,
        *,
        timeout_seconds: float,
        should_stop: Callable[[], bool] = lambda: False,
        required: int | None = None,
        critical: bool = True,
    ) -> Iterator[Sample]:
        """`pods-ready:<component>` samples from a pod watch (see `readiness`)."""
        if required is None:
            spec = self._spec(component)
            obj = self.gateway.get(WORKLOADS[spec.kind.value], spec.name) or {}
            required = max(1, int((obj.get("spec") or {}).get("replicas", 1)))
        return readiness.readiness_samples(
            self.gateway,
            component.value,
            self._selector(component),
            clock,
            required=required,
            timeout_seconds=timeout_seconds,
            should_stop=should_stop,
            critical=critical,
        )

    def object_problems(self) -> list[str]:
        """What the profile names that the cluster lacks: one line per missing workload or
        container (reads only). A typo must not surface as "no detectable failure"."""
        problems: list[str] = []
        namespace = self.gateway.namespace
        for component, spec in self.profile.components.items():
            obj = self.gateway.get(WORKLOADS[spec.kind.value], spec.name)
            what = f"{component.value}: {spec.kind.value.lower()} {spec.name}"
            if obj is None:
                problems.append(f"{what} not found in namespace {namespace}")
                continue
            template = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
            names = [str(c.get("name")) for c in template.get("containers") or []]
            if spec.container is not None and spec.container not in names:
                problems.append(
                    f"{what} has no container {spec.container!r} (it has: {', '.join(names)})"
                )
        return problems

    def access_problems(self, calls: Sequence[PlannedCall]) -> tuple[list[str], int]:
        """The planned calls this client may not make, per SelfSubjectAccessReview (one line
        each), and how many reviews were sent (POSTs that change nothing)."""
        problems: list[str] = []
        seen: set[Access] = set()
        for call in calls:
            access = access_for(call.method, call.path)
            if access is None or access in seen:
                continue
            seen.add(access)
            allowed, reason = self.gateway.access_allowed(access)
            if allowed is False:
                because = f" ({reason})" if reason else ""
                problems.append(
                    f"RBAC: the runner may not {access.render()} in namespace "
                    f"{access.namespace or '(cluster)'}{because}"
                )
        return problems, len(seen)

    def lease(self, holder: str | None = None, duration_seconds: int = 60) -> DrillLease:
        """The namespace's drill lock, a Lease (not yet acquired)."""
        return DrillLease(self.gateway, holder, duration_seconds=duration_seconds)

    def drill_lock(self) -> AbstractContextManager[DrillLease]:
        """One drill per namespace: the Lease, held and renewed for the block."""
        return self.lease().keep_alive()

    def plan(self) -> tuple[PlannedCall, ...]:
        """What a dry run would have changed, in order."""
        return self.gateway.plan.calls()

    # -- plumbing ----------------------------------------------------------------------------

    def _spec(self, component: Component) -> ComponentSpec:
        spec = self.profile.components.get(Component(component))
        if spec is None:
            raise TargetError(f"the profile maps no workload to component {component.value!r}")
        return spec

    def _selector(self, component: Component) -> Mapping[str, str]:
        cached = self._selectors.get(component)
        if cached is not None:
            return cached
        spec = self._spec(component)
        selector = spec.selector
        if selector is None:
            obj = self.gateway.get(WORKLOADS[spec.kind.value], spec.name)
            if obj is None:
                raise TargetError(f"{spec.kind.value} {spec.name} does not exist")
            selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels")
            if not selector:
                raise TargetError(
                    f"{spec.kind.value} {spec.name} selects pods without matchLabels; "
                    f"give components.{component.value}.selector in the profile"
                )
        self._selectors[component] = selector
        return selector

    def _desired(self, component: Component) -> int:
        """The workload's `spec.replicas` now (TargetError when it does not exist)."""
        spec = self._spec(component)
        obj = self.gateway.get(WORKLOADS[spec.kind.value], spec.name)
        if obj is None:
            raise TargetError(f"{spec.kind.value.lower()} {spec.name} does not exist")
        return int((obj.get("spec") or {}).get("replicas", 1))

    def _bounded(self, timeout_seconds: float) -> float:
        return min(timeout_seconds, self.wait_cap_seconds)

    def _pods(self, component: Component) -> list[JsonObject]:
        selector = self._selector(component)
        pods = self.gateway.list(PODS, label_selector=readiness.selector_text(selector))
        return [pod for pod in pods if readiness.labels_match(pod, selector)]

    def _wait_rollout(
        self, spec: ComponentSpec, patched: JsonObject | None, timeout: float
    ) -> None:
        generation = int(((patched or {}).get("metadata") or {}).get("generation") or 0)
        readiness.wait_for_rollout(
            self.gateway,
            WORKLOADS[spec.kind.value],
            spec.name,
            spec.kind,
            min_generation=generation,
            timeout_seconds=self._bounded(timeout),
        )
