"""What RBAC permission each request needs, to hold the emitted Role against real traffic."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from drills.targets.kubernetes.permissions import CLUSTER_RULES, NAMESPACED_RULES, Rule

Permission = tuple[str, str, str]  # (apiGroup, resource[/subresource], verb)


def needed(request: Any) -> tuple[set[Permission], str | None]:
    """Permissions a request needs (all of them), and the object name it names."""
    resource = request.resource
    if resource is None or resource.plural is None:
        return set(), None  # discovery and /version: open to every authenticated user
    if resource.plural == "selfsubjectaccessreviews":
        return set(), None  # open to every authenticated user (system:basic-user)
    plural = resource.plural + (f"/{request.subresource}" if request.subresource else "")
    method = request.method.value
    if request.subresource == "exec":
        verbs = {"get", "create"}  # websocket GET: `get` up to 1.34, `create` after (see Role)
    elif method == "GET":
        watching = str(request.params.get("watch", "")).lower() in ("true", "1")
        verbs = {"watch"} if watching else {"list"} if request.name is None else {"get"}
    elif method == "POST":
        verbs = {"create"}
    elif method == "PATCH":
        verbs = {"patch"}
    elif method == "PUT":
        verbs = {"update"}
    elif method == "DELETE":
        verbs = {"delete"} if request.name else {"deletecollection"}
    else:
        verbs = {method.lower()}
    return {(resource.group, plural, verb) for verb in verbs}, request.name


def _grants(rule: Rule, permission: Permission, name: str | None) -> bool:
    group, resource, verb = permission
    if rule.group != group or resource not in rule.resources or verb not in rule.verbs:
        return False
    return not rule.resource_names or name in rule.resource_names


def uncovered(requests: Iterable[Any], rules: Sequence[Rule] | None = None) -> list[str]:
    """Requests some permission of which no rule grants, as 'METHOD path (verb resource)'."""
    rules = list(rules if rules is not None else (*NAMESPACED_RULES, *CLUSTER_RULES))
    missing: list[str] = []
    for request in requests:
        permissions, name = needed(request)
        for permission in sorted(permissions):
            if not any(_grants(rule, permission, name) for rule in rules):
                missing.append(f"{request.method.value} {request.url.path} ({permission})")
    return missing


def used(requests: Iterable[Any]) -> set[Permission]:
    out: set[Permission] = set()
    for request in requests:
        out |= needed(request)[0]
    return out


def granted(rules: Sequence[Rule]) -> set[Permission]:
    return {(r.group, res, verb) for r in rules for res in r.resources for verb in r.verbs}
