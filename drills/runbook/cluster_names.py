"""The runbook's Kubernetes names in a cluster, read through the driver's `Gateway` (GET/LIST).

The runbook's own namespace (`**Namespace**:` in the runbook) is the profile's namespace here:
a staging cluster mirrors production under another name. Any other namespace is looked up as
written. Workloads are read by name, other kinds listed and searched, so that a missing name
comes with the closest one that exists ("did you mean deployment/maestro-cp?"). The gateway runs
in dry-run mode, so not even a bug here could send a write; a read the Role forbids is "cannot
check", with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from kubernetes import client

from drills.errors import TargetError
from drills.runbook.findings import Answer, cannot, drift, not_found, ok
from drills.runbook.steps import ObjectRef
from drills.safety import Plan, ProductionGuard, RunMode
from drills.targets.kubernetes.gateway import Gateway, JsonObject
from drills.targets.kubernetes.profile import KubernetesProfile
from drills.targets.kubernetes.resources import (
    DEPLOYMENTS,
    EVENTS,
    HPAS,
    INGRESSES,
    NODES,
    PODS,
    SERVICES,
    STATEFULSETS,
    Resource,
)

__all__ = ["NAMESPACES", "ClusterInventory"]

NAMESPACES = Resource("", "v1", "namespaces", "Namespace", False, client.CoreV1Api, "namespace")
_BY_KIND = {
    "deployment": DEPLOYMENTS,
    "statefulset": STATEFULSETS,
    "pod": PODS,
    "service": SERVICES,
    "ingress": INGRESSES,
    "event": EVENTS,
    "horizontalpodautoscaler": HPAS,
    "node": NODES,
}
_READ_BY_NAME = frozenset({"deployment", "statefulset"})


def _names(items: Sequence[JsonObject]) -> list[str]:
    return [str((item.get("metadata") or {}).get("name")) for item in items]


class ClusterInventory:
    """Answers for the runbook's names from a cluster, through read-only gateways."""

    def __init__(
        self,
        profile: KubernetesProfile,
        api_client: client.ApiClient,
        runbook_namespace: str | None,
        *,
        allow_production: bool = False,
    ) -> None:
        self.profile = profile
        self.name = profile.name
        self.api_client = api_client
        self.runbook_namespace = runbook_namespace
        self.home = profile.cluster.namespace
        self._guard = ProductionGuard(allow_production=allow_production)
        self._gateways: dict[str, Gateway] = {}
        self._gateway(self.home)  # the production guard judges the profile before any read

    def _gateway(self, namespace: str) -> Gateway:
        gateway = self._gateways.get(namespace)
        if gateway is None:
            # Other namespaces are only read, in dry-run mode: the guard protects writes.
            guard = (
                self._guard if namespace == self.home else ProductionGuard(allow_production=True)
            )
            gateway = Gateway(
                self.api_client,
                namespace,
                guard=guard,
                context=self.profile.cluster.context,
                mode=RunMode.DRY_RUN,
                plan=Plan(),
                request_timeout_seconds=10.0,
            )
            self._gateways[namespace] = gateway
        return gateway

    def absent(self, word: str) -> str | None:
        return None

    def namespace(self, namespace: str | None) -> tuple[Answer, str]:
        if namespace is None or namespace in (self.runbook_namespace, self.home):
            return ok(
                f"namespace {namespace or self.home} -> {self.home} (the profile's)"
            ), self.home
        try:
            found = self._gateway(self.home).get(NAMESPACES, namespace)
        except TargetError as exc:
            return cannot(f"cannot read namespace {namespace}: {exc}"), namespace
        if found is not None:
            return ok(f"namespace {namespace} exists"), namespace
        known = [n for n in (self.runbook_namespace, self.home) if n]
        message, suggestion = not_found(f"namespace {namespace}", namespace, known)
        return drift(message, suggestion), namespace

    def object(self, ref: ObjectRef, namespace: str) -> Answer:
        res = _BY_KIND.get(ref.kind)
        if res is None:
            return cannot(f"drills does not read {ref.kind} objects (not in the runner's Role)")
        gateway = self._gateway(namespace)
        try:
            if ref.name is None:
                return ok(f"{len(gateway.list(res))} {ref.kind}(s) in {namespace}")
            if ref.kind in _READ_BY_NAME:
                if gateway.get(res, ref.name) is not None:
                    return ok(f"{ref} exists in {namespace}")
            else:
                names = [f"{ref.kind}/{n}" for n in _names(gateway.list(res))]
                if str(ref) in names:
                    return ok(f"{ref} exists in {namespace}")
                message, suggestion = not_found(
                    str(ref), str(ref), names, f"in namespace {namespace}"
                )
                return drift(message, suggestion)
        except TargetError as exc:
            return cannot(str(exc))
        # The read by name said 404: that is the drift. Listing the workloads only finds the
        # closest name, and the emitted Role may not allow it (it reads workloads by name).
        where = f"in namespace {namespace}"
        try:
            names = [
                f"{kind}/{name}"
                for kind in sorted(_READ_BY_NAME)
                for name in _names(gateway.list(_BY_KIND[kind]))
            ]
        except TargetError as exc:
            return drift(f"{ref} not found {where} (no suggestion: {exc})")
        message, suggestion = not_found(str(ref), str(ref), names, where)
        return drift(message, suggestion)

    def selector(self, terms: tuple[tuple[str, str], ...], text: str, namespace: str) -> Answer:
        try:
            pods = self._gateway(namespace).list(PODS)
        except TargetError as exc:
            return cannot(str(exc))
        wanted = dict(terms)
        matching = [
            pod
            for pod in pods
            if all(
                ((pod.get("metadata") or {}).get("labels") or {}).get(k) == v
                for k, v in wanted.items()
            )
        ]
        if matching:
            return ok(f"-l {text} matches {len(matching)} pod(s) in {namespace}")
        labels = {
            f"{k}={v}"
            for pod in pods
            for k, v in ((pod.get("metadata") or {}).get("labels") or {}).items()
        }
        message, suggestion = not_found(f"pods matching {text}", text, labels, f"in {namespace}")
        return drift(message, suggestion)
