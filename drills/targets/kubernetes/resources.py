"""The Kubernetes resources the driver touches, in one table.

Each `Resource` knows its API path and which generated method of the official client serves it
(`list_namespaced_pod`, `patch_namespaced_deployment_scale`, ...), so the gateway can call the
typed client and the dry-run plan can print the very path the call would hit. The RBAC Role that
`drills schedule --emit kubernetes` prints is derived from `drills.targets.kubernetes.permissions`,
which names resources from this table too.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes import client

__all__ = [
    "CONFIGMAPS",
    "DEPLOYMENTS",
    "EVENTS",
    "HPAS",
    "INGRESSES",
    "JOBS",
    "LEASES",
    "MANIFEST_KINDS",
    "NETWORK_POLICIES",
    "NODES",
    "PODS",
    "SECRETS",
    "SERVICES",
    "STATEFULSETS",
    "SUPPORTED_VERSIONS",
    "WORKLOADS",
    "Resource",
]


# The oldest and newest Kubernetes minor versions drills supports: 1.27 made CronJob
# `spec.timeZone` GA (the emitted CronJobs set it); the newest is the kubernetes client's (37).
# The tests validate every request body and emitted manifest against both versions' schemas.
SUPPORTED_VERSIONS = ("1.27", "1.37")


@dataclass(frozen=True)
class Resource:
    """One API resource: where it lives and how the generated client names its methods."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    api: type
    suffix: str  # e.g. "namespaced_pod": list_namespaced_pod, read_namespaced_pod, ...

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None, name: str | None = None, sub: str | None = None) -> str:
        """The REST path: `/api/v1/namespaces/ns/pods/name/log`, `/apis/apps/v1/...`."""
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        parts = [root]
        if self.namespaced:
            parts.append(f"namespaces/{namespace}")
        parts.append(self.plural)
        if name is not None:
            parts.append(name)
        if sub is not None:
            parts.append(sub)
        return "/".join(parts)

    def method_name(self, verb: str, sub: str | None = None) -> str:
        """Name of the generated client method, e.g. `patch_namespaced_deployment_scale`."""
        name = f"{verb}_{self.suffix}"
        return f"{name}_{sub}" if sub else name


def _core(plural: str, kind: str, suffix: str, namespaced: bool = True) -> Resource:
    return Resource("", "v1", plural, kind, namespaced, client.CoreV1Api, suffix)


PODS = _core("pods", "Pod", "namespaced_pod")
SERVICES = _core("services", "Service", "namespaced_service")
EVENTS = _core("events", "Event", "namespaced_event")
CONFIGMAPS = _core("configmaps", "ConfigMap", "namespaced_config_map")
SECRETS = _core("secrets", "Secret", "namespaced_secret")
NODES = _core("nodes", "Node", "node", namespaced=False)
DEPLOYMENTS = Resource(
    "apps", "v1", "deployments", "Deployment", True, client.AppsV1Api, "namespaced_deployment"
)
STATEFULSETS = Resource(
    "apps", "v1", "statefulsets", "StatefulSet", True, client.AppsV1Api, "namespaced_stateful_set"
)
JOBS = Resource("batch", "v1", "jobs", "Job", True, client.BatchV1Api, "namespaced_job")
INGRESSES = Resource(
    "networking.k8s.io",
    "v1",
    "ingresses",
    "Ingress",
    True,
    client.NetworkingV1Api,
    "namespaced_ingress",
)
NETWORK_POLICIES = Resource(
    "networking.k8s.io",
    "v1",
    "networkpolicies",
    "NetworkPolicy",
    True,
    client.NetworkingV1Api,
    "namespaced_network_policy",
)
HPAS = Resource(
    "autoscaling",
    "v2",
    "horizontalpodautoscalers",
    "HorizontalPodAutoscaler",
    True,
    client.AutoscalingV2Api,
    "namespaced_horizontal_pod_autoscaler",
)
LEASES = Resource(
    "coordination.k8s.io",
    "v1",
    "leases",
    "Lease",
    True,
    client.CoordinationV1Api,
    "namespaced_lease",
)

WORKLOADS = {"Deployment": DEPLOYMENTS, "StatefulSet": STATEFULSETS}

# Kinds a maintenance-mode manifest may contain: each one widens the runner's Role (create,
# patch, delete), so the list is short on purpose.
MANIFEST_KINDS = {
    (CONFIGMAPS.api_version, CONFIGMAPS.kind): CONFIGMAPS,
    (SERVICES.api_version, SERVICES.kind): SERVICES,
    (INGRESSES.api_version, INGRESSES.kind): INGRESSES,
}
