"""Request bodies for the runbook's cluster steps, as pure functions (easy to test, easy to plan).

Each mirrors what the runbook's `kubectl` command sends, so a drill exercises the same change an
on-call engineer would make:

- rollout restart: the `kubectl.kubernetes.io/restartedAt` pod-template annotation (also what
  `chaosk8s.deployment.actions.rollout_deployment` patches);
- scale: `{"spec": {"replicas": N}}` on the `/scale` subresource (`kubectl scale`);
- resources: a strategic-merge patch of one container's requests/limits (`kubectl patch`);
- blocking addresses: a NetworkPolicy that admits everything except the given CIDRs;
- rate limit: ingress-nginx's `limit-rps` / `limit-rpm` annotations on the service's Ingress;
- backup/restore: the user's Job template, named, labelled and given the drill's parameters as
  environment variables (`DRILLS_BACKUP_ID`, `DRILLS_TARGET_TIME`, `DRILLS_COMPONENT`) instead of
  text substitution into YAML.
"""

from __future__ import annotations

import copy
import ipaddress
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from drills.errors import InputError
from drills.targets.kubernetes.resources import MANIFEST_KINDS, Resource

__all__ = [
    "BLOCK_POLICY_NAME",
    "FAULT_POLICY_PREFIX",
    "MANAGED_BY",
    "isolation_policy",
    "job_from_template",
    "maintenance_objects",
    "network_policy",
    "rate_limit_patch",
    "resources_patch",
    "restart_patch",
    "scale_body",
]

MANAGED_BY = {"app.kubernetes.io/managed-by": "drills"}
BLOCK_POLICY_NAME = "drills-block-addresses"
FAULT_POLICY_PREFIX = "drills-network-fault-"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
LIMIT_RPS = "nginx.ingress.kubernetes.io/limit-rps"
LIMIT_RPM = "nginx.ingress.kubernetes.io/limit-rpm"
PURPOSE_LABEL = "drills.dev/purpose"
COMPONENT_LABEL = "drills.dev/component"
BACKUP_ID_LABEL = "drills.dev/backup-id"

_QUANTITY = re.compile(r"[+]?(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?")
_LABEL_VALUE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_RATE = re.compile(r"\s*(\d+)\s*/\s*(s|sec|second|m|min|minute)\s*", re.IGNORECASE)


def restart_patch(now: datetime | None = None) -> dict[str, Any]:
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}


def scale_body(replicas: int) -> dict[str, Any]:
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise InputError(f"replicas must be a whole number >= 0, got {replicas!r}")
    return {"spec": {"replicas": replicas}}


def resources_patch(
    container: str,
    *,
    requests: Mapping[str, str] | None = None,
    limits: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Strategic-merge patch setting one container's resources (merged by container name)."""
    resources: dict[str, dict[str, str]] = {}
    for section, values in (("requests", requests), ("limits", limits)):
        if not values:
            continue
        for resource, quantity in values.items():
            if not _QUANTITY.fullmatch(str(quantity)):
                raise InputError(f"{section}.{resource}: {quantity!r} is not a Kubernetes quantity")
        resources[section] = {str(k): str(v) for k, v in values.items()}
    if not resources:
        raise InputError("give requests and/or limits to patch")
    container_patch = {"name": container, "resources": resources}
    return {"spec": {"template": {"spec": {"containers": [container_patch]}}}}


def network_policy(
    namespace: str, pod_selector: Mapping[str, str], addresses: Sequence[str]
) -> dict[str, Any]:
    """Admit ingress from anywhere except `addresses` (IPs or CIDRs), for the selected pods.

    Unlike the runbook's sample, the except list holds only the addresses to block (the sample
    also excepted 10.0.0.0/8, which cuts off in-cluster traffic). Mind that traffic arriving
    through an ingress controller carries the controller's address, not the client's.
    """
    v4: list[str] = []
    v6: list[str] = []
    for address in addresses:
        try:
            network = ipaddress.ip_network(address.strip(), strict=False)
        except ValueError:
            raise InputError(f"{address!r} is not an IP address or CIDR") from None
        (v4 if network.version == 4 else v6).append(str(network))
    peers: list[dict[str, Any]] = []
    for cidr, excepted in (("0.0.0.0/0", v4), ("::/0", v6)):
        block: dict[str, Any] = {"cidr": cidr}
        if excepted:
            block["except"] = sorted(set(excepted))
        peers.append({"ipBlock": block})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": BLOCK_POLICY_NAME, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {
            "podSelector": {"matchLabels": dict(pod_selector)},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": peers}],
        },
    }


def isolation_policy(namespace: str, name: str, pod_selector: Mapping[str, str]) -> dict[str, Any]:
    """Deny all ingress to the selected pods: connections to them hang (a network blackhole)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {"podSelector": {"matchLabels": dict(pod_selector)}, "policyTypes": ["Ingress"]},
    }


def rate_limit_patch(limit: str | None) -> dict[str, Any]:
    """ingress-nginx annotations for '50/second' or '600/minute'; None removes both."""
    if limit is None:
        return {"metadata": {"annotations": {LIMIT_RPS: None, LIMIT_RPM: None}}}
    match = _RATE.fullmatch(limit)
    if match is None:
        raise InputError(f"rate limit {limit!r}: use 'N/second' or 'N/minute'")
    count, unit = match.group(1), match.group(2).lower()
    per_second = unit.startswith("s")
    annotations = {
        LIMIT_RPS: count if per_second else None,
        LIMIT_RPM: None if per_second else count,
    }
    return {"metadata": {"annotations": annotations}}


def maintenance_objects(
    docs: Sequence[Mapping[str, Any]], namespace: str
) -> list[tuple[Resource, dict[str, Any]]]:
    """The maintenance manifest's objects with their resources, pinned to `namespace`."""
    out: list[tuple[Resource, dict[str, Any]]] = []
    for doc in docs:
        res = MANIFEST_KINDS[(str(doc.get("apiVersion")), str(doc.get("kind")))]
        body = copy.deepcopy(dict(doc))
        meta = body.setdefault("metadata", {})
        meta["namespace"] = namespace
        meta.setdefault("labels", {}).update(MANAGED_BY)
        out.append((res, body))
    return out


def job_from_template(
    template: Mapping[str, Any],
    *,
    namespace: str,
    purpose: str,
    component: str,
    backup_id: str | None = None,
    target_time: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A runnable Job from a user's template: unique name, drill labels, parameters as env."""
    job = copy.deepcopy(dict(template))
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    base = str(job["metadata"]["name"])[:40].rstrip("-")
    meta = job["metadata"]
    meta["name"] = f"{base}-{stamp}-{uuid.uuid4().hex[:4]}"
    meta["namespace"] = namespace
    meta.pop("generateName", None)
    meta.pop("resourceVersion", None)
    labels = {**MANAGED_BY, PURPOSE_LABEL: purpose, COMPONENT_LABEL: component}
    if backup_id is not None and _LABEL_VALUE.fullmatch(backup_id):
        labels[BACKUP_ID_LABEL] = backup_id
    meta["labels"] = {**(meta.get("labels") or {}), **labels}
    env = [{"name": "DRILLS_COMPONENT", "value": component}]
    if backup_id is not None:
        env.append({"name": "DRILLS_BACKUP_ID", "value": backup_id})
    if target_time is not None:
        env.append({"name": "DRILLS_TARGET_TIME", "value": target_time.astimezone(UTC).isoformat()})
    pod_spec = job["spec"]["template"].setdefault("spec", {})
    for container in pod_spec.get("containers", []) + pod_spec.get("initContainers", []):
        names = {item["name"] for item in env}
        kept = [item for item in container.get("env") or [] if item.get("name") not in names]
        container["env"] = kept + env
    return job
