"""The API permissions the Kubernetes driver needs, verb by verb, and not one more.

`NAMESPACED_RULES` are what drills use; `INVENTORY_RULES` only `snapshot()` (the runbook's
`kubectl get` listing, never called by a drill), so the Role `drills schedule --emit kubernetes`
prints leaves them out, and with them the cluster-wide node listing. Given the profile
(`--profile`), `rules_for_profile` tailors the Role further: only the resources the profile's
objects need, named (`resourceNames`) wherever the API can check a name; `create` cannot be
restricted by name (the name is not known to the authorizer before the object exists), nor a
list or a watch.

tests/k8s checks both directions against real traffic: every request any driver test sends is
covered by a rule, a tour of every driver operation uses every verb granted here, and real drills
against the emulated cluster stay within the tailored Role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from drills.targets.kubernetes.profile import KubernetesProfile

__all__ = [
    "CLUSTER_RULES",
    "INVENTORY_RULES",
    "NAMESPACED_RULES",
    "Access",
    "Rule",
    "access_for",
    "rules_for_profile",
    "secrets_rule",
]


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
    Rule(SERVICES.group, (SERVICES.plural,), ("create", "patch", "delete")),
    Rule(CONFIGMAPS.group, (CONFIGMAPS.plural,), ("create", "patch", "delete")),
    # rollout restart and resources (patch), rollout status (get, watch), listings (list)
    Rule(
        DEPLOYMENTS.group,
        (DEPLOYMENTS.plural, STATEFULSETS.plural),
        ("get", "watch", "patch"),
    ),
    Rule(DEPLOYMENTS.group, ("deployments/scale", "statefulsets/scale"), ("patch",)),
    # backup and restore Jobs: run, watch to the end, list past backups; delete unfinished ones
    Rule(JOBS.group, (JOBS.plural,), ("get", "create", "list", "watch", "delete")),
    # rate-limit annotations (patch); maintenance manifests (create, patch, delete)
    Rule(INGRESSES.group, (INGRESSES.plural,), ("create", "patch", "delete")),
    Rule(NETWORK_POLICIES.group, (NETWORK_POLICIES.plural,), ("create", "patch", "delete")),
    # the one-drill-per-namespace lock
    Rule(LEASES.group, (LEASES.plural,), ("get", "create", "patch", "delete")),
)

INVENTORY_RULES: tuple[Rule, ...] = (
    Rule(SERVICES.group, (SERVICES.plural,), ("list",)),
    Rule(DEPLOYMENTS.group, (DEPLOYMENTS.plural, STATEFULSETS.plural), ("list",)),
    Rule(HPAS.group, (HPAS.plural,), ("list",)),
    Rule(INGRESSES.group, (INGRESSES.plural,), ("list",)),
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


def rules_for_profile(profile: KubernetesProfile) -> tuple[Rule, ...]:
    """The Role for one profile: what its drills need, named wherever RBAC can check a name."""
    from drills.errors import TargetError
    from drills.targets.base import Component
    from drills.targets.kubernetes import database
    from drills.targets.kubernetes.lease import LEASE_NAME
    from drills.targets.kubernetes.manifests import (
        BLOCK_POLICY_NAME,
        FAULT_POLICY_PREFIX,
        maintenance_objects,
    )
    from drills.targets.kubernetes.profile import JOB_PURPOSES

    rules: dict[tuple[str, tuple[str, ...], tuple[str, ...]], set[str]] = {}

    def grant(group: str, resource: str, verbs: Sequence[str], names: Sequence[str] = ()) -> None:
        rules.setdefault((group, (resource,), tuple(sorted(set(names)))), set()).update(verbs)

    grant(PODS.group, PODS.plural, ("list", "watch", "delete"))
    grant(PODS.group, "pods/log", ("get",))
    grant(EVENTS.group, EVENTS.plural, ("list",))
    for spec in profile.components.values():
        plural = DEPLOYMENTS.plural if spec.kind.value == "Deployment" else STATEFULSETS.plural
        grant(DEPLOYMENTS.group, plural, ("get", "patch"), (spec.name,))
        grant(DEPLOYMENTS.group, plural, ("watch",))  # a watch is not checked by name
    control = profile.components.get(Component.CONTROL_PLANE)
    if control is not None:  # drills scale only the control plane
        plural = DEPLOYMENTS.plural if control.kind.value == "Deployment" else STATEFULSETS.plural
        grant(DEPLOYMENTS.group, f"{plural}/scale", ("patch",), (control.name,))
    exec_pods = []
    for standby in (False, True):
        try:
            exec_pods.append(database.locate(profile, standby=standby)[1])
        except TargetError:
            continue  # no such database pod: no psql there
    try:  # cypher-shell in the graph store's pod (the graph integrity check and fault)
        from drills.targets.kubernetes.graph import graph_pod

        exec_pods.append(graph_pod(profile)[0])
    except TargetError:
        pass  # no neo4j StatefulSet in the profile: no cypher-shell
    if exec_pods:
        grant(PODS.group, "pods/exec", ("get", "create"), exec_pods)
    if any(profile.jobs.get(purpose) is not None for purpose in JOB_PURPOSES):
        grant(JOBS.group, JOBS.plural, ("get", "create", "list", "watch", "delete"))
    for res, body in maintenance_objects(profile.maintenance_manifest, profile.cluster.namespace):
        grant(res.group, res.plural, ("create",))
        grant(res.group, res.plural, ("patch", "delete"), (str(body["metadata"]["name"]),))
    if profile.network.ingress is not None:
        grant(INGRESSES.group, INGRESSES.plural, ("patch",), (profile.network.ingress,))
    policies = [BLOCK_POLICY_NAME, *(f"{FAULT_POLICY_PREFIX}{c.value}" for c in Component)]
    grant(NETWORK_POLICIES.group, NETWORK_POLICIES.plural, ("create",))
    grant(NETWORK_POLICIES.group, NETWORK_POLICIES.plural, ("patch", "delete"), policies)
    grant(LEASES.group, LEASES.plural, ("create",))
    grant(LEASES.group, LEASES.plural, ("get", "patch", "delete"), (LEASE_NAME,))
    out = [
        Rule(group, resources, tuple(v for v in _VERB_ORDER if v in verbs), names)
        for (group, resources, names), verbs in rules.items()
    ]
    if profile.secret_names():
        out.append(secrets_rule(profile.secret_names()))
    return tuple(out)


_VERB_ORDER = ("get", "create", "list", "watch", "patch", "delete")


def secrets_rule(names: Sequence[str]) -> Rule:
    """`get` on exactly the Secrets a profile references (`{secret: NAME, key: KEY}`)."""
    return Rule(SECRETS.group, (SECRETS.plural,), ("get",), tuple(sorted(set(names))))
