"""The API permissions the Kubernetes driver needs, verb by verb, and not one more.

`drills schedule --emit kubernetes` turns these into the runner's Role (namespaced) and a
read-only ClusterRole for listing nodes. tests/k8s checks both directions against real traffic:
every request any driver test sends is covered by a rule, and a tour of every driver operation
uses every verb granted here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from drills.targets.kubernetes.resources import (
    CONFIGMAPS,
    DEPLOYMENTS,
    EVENTS,
    HPAS,
    INGRESSES,
    JOBS,
    LEASES,
    NETWORK_POLICIES,
    NODES,
    PODS,
    SECRETS,
    SERVICES,
    STATEFULSETS,
)

__all__ = ["CLUSTER_RULES", "NAMESPACED_RULES", "Access", "Rule", "access_for", "secrets_rule"]


@dataclass(frozen=True)
class Rule:
    """One RBAC PolicyRule."""

    group: str
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "apiGroups": [self.group],
            "resources": list(self.resources),
            "verbs": list(self.verbs),
        }
        if self.resource_names:
            rule["resourceNames"] = list(self.resource_names)
        return rule


NAMESPACED_RULES: tuple[Rule, ...] = (
    # kill (delete, grace 0), status / readiness (list, watch)
    Rule(PODS.group, (PODS.plural,), ("list", "watch", "delete")),
    Rule(PODS.group, ("pods/log",), ("get",)),
    # psql in the database pod. The client opens exec as a websocket GET: API servers up to
    # 1.34 authorize that as `get`, newer ones (AuthorizePodWebsocketUpgradeCreatePermission)
    # as `create`, which is also what kubectl's POST needs.
    Rule(PODS.group, ("pods/exec",), ("get", "create")),
    Rule(EVENTS.group, (EVENTS.plural,), ("list",)),
    # maintenance-mode manifest kinds: apply (create, or patch when it exists) and remove
    Rule(SERVICES.group, (SERVICES.plural,), ("list", "create", "patch", "delete")),
    Rule(CONFIGMAPS.group, (CONFIGMAPS.plural,), ("create", "patch", "delete")),
    # rollout restart and resources (patch), rollout status (get, watch), listings (list)
    Rule(
        DEPLOYMENTS.group,
        (DEPLOYMENTS.plural, STATEFULSETS.plural),
        ("get", "list", "watch", "patch"),
    ),
    Rule(DEPLOYMENTS.group, ("deployments/scale", "statefulsets/scale"), ("patch",)),
    # the runbook's `kubectl get hpa` during a traffic flood
    Rule(HPAS.group, (HPAS.plural,), ("list",)),
    # backup and restore Jobs: run, watch to the end, list past backups; delete unfinished ones
    Rule(JOBS.group, (JOBS.plural,), ("get", "create", "list", "watch", "delete")),
    # listing; rate-limit annotations (patch); maintenance manifests (create, patch, delete)
    Rule(INGRESSES.group, (INGRESSES.plural,), ("list", "create", "patch", "delete")),
    Rule(NETWORK_POLICIES.group, (NETWORK_POLICIES.plural,), ("create", "patch", "delete")),
    # the one-drill-per-namespace lock
    Rule(LEASES.group, (LEASES.plural,), ("get", "create", "patch", "delete")),
)

CLUSTER_RULES: tuple[Rule, ...] = (Rule(NODES.group, (NODES.plural,), ("list",)),)


@dataclass(frozen=True)
class Access:
    """What one request needs: a verb on a resource (or subresource) in a namespace."""

    verb: str
    group: str
    resource: str
    subresource: str | None
    namespace: str | None
    name: str | None

    def render(self) -> str:
        what = self.resource + (f"/{self.subresource}" if self.subresource else "")
        group = f".{self.group}" if self.group else ""
        named = f" {self.name}" if self.name else ""
        return f"{self.verb} {what}{group}{named}"


def access_for(method: str, path: str) -> Access | None:
    """The permission a request (or a planned WATCH) needs, from its method and REST path.

    `/api/v1/namespaces/NS/pods/NAME/exec` -> create pods/exec; None for paths that are not
    resources. An exec is a websocket GET, authorized as `create` by current API servers.
    """
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, rest = parts[1], parts[3:]
    else:
        return None
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    resource = rest[0]
    name: str | None = rest[1] if len(rest) > 1 else None
    sub: str | None = rest[2] if len(rest) > 2 else None
    if sub == "exec":
        verb = "create"
    elif method == "WATCH":
        verb = "watch"
    elif method == "GET":
        verb = "get" if name else "list"
    else:
        verb = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}.get(
            method, method.lower()
        )
    if method == "WATCH" and "fieldSelector=metadata.name=" in path:
        name = path.rsplit("=", 1)[1]
    return Access(verb, group, resource, sub, namespace, name)


def secrets_rule(names: Sequence[str]) -> Rule:
    """`get` on exactly the Secrets a profile references (`{secret: NAME, key: KEY}`)."""
    return Rule(SECRETS.group, (SECRETS.plural,), ("get",), tuple(sorted(set(names))))
