"""The runbook's Kubernetes names for drills' components, and the systems drills does not drill.

The runbook calls the control plane `deployment/maestro-control-plane`, PostgreSQL
`statefulset/postgresql` (pod `postgresql-0`, label `app=postgresql`), Neo4j `statefulset/neo4j`
(pod `neo4j-0`, label `app=neo4j`; the sandbox's graph store) and Redis `deployment/redis`: the
same names a Kubernetes profile uses by default. The sandbox reads its components from here, and
so do coverage and scaffolding (which component a `kubectl rollout restart` restarts). The ingress
controller appears in the runbook but no drill touches it.
"""

from __future__ import annotations

from drills.runbook.steps import KubectlStep
from drills.targets.base import Component

__all__ = ["FOREIGN", "LABELS", "OBJECTS", "component_of", "foreign"]

OBJECTS: dict[tuple[str, str], Component] = {
    ("deployment", "maestro-control-plane"): Component.CONTROL_PLANE,
    ("statefulset", "postgresql"): Component.POSTGRES,
    ("pod", "postgresql-0"): Component.POSTGRES,
    ("statefulset", "postgresql-standby"): Component.POSTGRES_STANDBY,
    ("pod", "postgresql-standby-0"): Component.POSTGRES_STANDBY,
    ("deployment", "redis"): Component.REDIS,
    ("statefulset", "neo4j"): Component.NEO4J,
    ("pod", "neo4j-0"): Component.NEO4J,
}
LABELS: dict[tuple[str, str], Component] = {
    ("app", "postgresql"): Component.POSTGRES,
    ("app", "redis"): Component.REDIS,
    ("app", "neo4j"): Component.NEO4J,
    ("app", "maestro-control-plane"): Component.CONTROL_PLANE,
    ("app.kubernetes.io/name", "maestro"): Component.CONTROL_PLANE,
}
# A word in a name → the system it belongs to, which drills neither runs nor drills.
FOREIGN = {"ingress-nginx": "ingress controller"}


def foreign(word: str) -> str | None:
    """The foreign system a name belongs to (`deployment/ingress-nginx-controller` → "ingress
    controller"), or None."""
    lowered = word.lower()
    return next((system for marker, system in FOREIGN.items() if marker in lowered), None)


def component_of(step: KubectlStep) -> Component | None:
    """The one component a kubectl step's objects or selector name, or None."""
    for ref in step.objects:
        if ref.name is not None and (ref.kind, ref.name) in OBJECTS:
            return OBJECTS[ref.kind, ref.name]
    found = {LABELS[term] for term in step.selector if term in LABELS}
    return found.pop() if len(found) == 1 else None
