"""The runbook's Kubernetes names on the embedded sandbox, and what the sandbox does not have.

The sandbox runs the runbook's components as local processes, under the runbook's names
(`names.py`: `deployment/maestro-control-plane` is its control-plane replicas, and so on). It
stands in the runbook's own namespace; its `neo4j` is the FalkorDB stand-in. It has no ingress
controller (namespace
`ingress-nginx`), no nodes, Services, Ingresses, events or autoscalers: steps about those
"cannot be checked here".
A name that is neither mapped nor known to be absent is drift, with the closest sandbox name.
"""

from __future__ import annotations

from typing import Any

from drills.runbook.findings import Answer, cannot, drift, not_found, ok
from drills.runbook.names import LABELS, OBJECTS, foreign
from drills.runbook.steps import ObjectRef
from drills.targets.base import Component
from drills.targets.sandbox.driver import SandboxTarget

__all__ = ["SandboxInventory"]

LISTED_KINDS = frozenset({"pod", "deployment", "statefulset"})
ABSENT_KINDS = {
    "node": "the sandbox runs local processes, not nodes",
    "service": "the sandbox has no Kubernetes Services",
    "ingress": "the sandbox has no Ingress objects",
    "event": "the sandbox records no Kubernetes events",
    "horizontalpodautoscaler": "the sandbox has no autoscaler",
    "networkpolicy": "the sandbox has no NetworkPolicies (its deny list is drills.actions.service.block_addresses)",
    "configmap": "the sandbox has no ConfigMaps",
}


class SandboxInventory:
    """Answers for the runbook's names from a sandbox's `status()` (read-only)."""

    def __init__(self, target: SandboxTarget, runbook_namespace: str | None) -> None:
        self.target = target
        self.name = target.name
        self.runbook_namespace = runbook_namespace
        self._status: dict[str, Any] | None = None

    def _component(self, component: Component) -> str:
        if self._status is None:
            self._status = self.target.status()
        info = (self._status.get("components") or {}).get(component.value) or {}
        count = len(info.get("pids") or [])
        return f"sandbox {component.value} ({info.get('state', 'unknown')}, {count} process(es))"

    def absent(self, word: str) -> str | None:
        system = foreign(word)
        return None if system is None else f"the sandbox has no {system}"

    def namespace(self, namespace: str | None) -> tuple[Answer, str]:
        home = self.runbook_namespace or "default"
        if namespace is None or namespace == home:
            return ok(f"namespace {home} (the sandbox's)"), home
        why = self.absent(namespace)
        if why is not None:
            return cannot(why), namespace
        message, suggestion = not_found(f"namespace {namespace}", namespace, [home])
        return drift(message, suggestion), namespace

    def object(self, ref: ObjectRef, namespace: str) -> Answer:
        why = self.absent(ref.name or "") or ABSENT_KINDS.get(ref.kind)
        if why is not None:
            return cannot(why)
        if ref.name is None:
            if ref.kind in LISTED_KINDS:
                if ref.kind == "pod":  # every component runs as processes: a pod's worth each
                    found = set(OBJECTS.values()) | set(LABELS.values())
                else:
                    found = {c for (kind, _), c in OBJECTS.items() if kind == ref.kind}
                return ok(f"{ref.kind}s: " + ", ".join(sorted(c.value for c in found)))
            return cannot(f"the sandbox has no {ref.kind} objects")
        component = OBJECTS.get((ref.kind, ref.name))
        if component is not None:
            return ok(f"{ref} -> {self._component(component)}")
        names = [f"{kind}/{name}" for kind, name in OBJECTS]
        message, suggestion = not_found(str(ref), str(ref), names, "on the sandbox")
        return drift(message, suggestion)

    def selector(self, terms: tuple[tuple[str, str], ...], text: str, namespace: str) -> Answer:
        why = self.absent(text)
        if why is not None:
            return cannot(why)
        found = {LABELS.get(term) for term in terms}
        if len(found) == 1 and None not in found:
            (component,) = found
            assert component is not None
            return ok(f"-l {text} -> {self._component(component)}")
        labels = [f"{key}={value}" for key, value in LABELS]
        message, suggestion = not_found(f"pods matching {text}", text, labels, "on the sandbox")
        return drift(message, suggestion)
