"""What the cluster looks like: the runbook's `kubectl get ...` steps, and the drill's evidence.

The runbook's first minutes of an incident are listings: pods, services, ingresses, nodes,
events sorted by time, statefulsets. These functions make the same reads and condense each
object to the columns `kubectl get` would show, JSON-safe, for the report. `drill_window()`
gathers the cluster events and pod logs that fall inside a drill, so the report shows what the
cluster itself recorded while the fault was live.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from drills.errors import TargetError
from drills.targets.kubernetes.gateway import Gateway, JsonObject
from drills.targets.kubernetes.readiness import labels_match, parse_time, pod_ready, selector_text
from drills.targets.kubernetes.resources import (
    DEPLOYMENTS,
    EVENTS,
    HPAS,
    INGRESSES,
    NODES,
    PODS,
    SERVICES,
    STATEFULSETS,
)

__all__ = [
    "drill_window",
    "event_summary",
    "event_time",
    "hpa_summary",
    "ingress_summary",
    "list_events",
    "node_summary",
    "pod_summary",
    "service_summary",
    "snapshot",
    "workload_summary",
]

_EPOCH = datetime.min.replace(tzinfo=UTC)


def pod_summary(pod: JsonObject) -> dict[str, Any]:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    ready, since = pod_ready(pod)
    ready_containers = sum(1 for c in statuses if c.get("ready"))
    return {
        "name": meta.get("name"),
        "phase": status.get("phase"),
        "ready": ready,
        "ready_containers": f"{ready_containers}/{len(spec.get('containers') or [])}",
        "restarts": sum(int(c.get("restartCount") or 0) for c in statuses),
        "node": spec.get("nodeName"),
        "ip": status.get("podIP"),
        "ready_changed_at": None if since is None else since.isoformat(),
        "terminating": bool(meta.get("deletionTimestamp")),
    }


def service_summary(svc: JsonObject) -> dict[str, Any]:
    spec = svc.get("spec") or {}
    ports = [f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or []]
    return {
        "name": (svc.get("metadata") or {}).get("name"),
        "type": spec.get("type", "ClusterIP"),
        "cluster_ip": spec.get("clusterIP"),
        "ports": ports,
        "selector": spec.get("selector"),
    }


def ingress_summary(ing: JsonObject) -> dict[str, Any]:
    spec = ing.get("spec") or {}
    balancer = ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return {
        "name": (ing.get("metadata") or {}).get("name"),
        "class": spec.get("ingressClassName"),
        "hosts": [rule.get("host") for rule in spec.get("rules") or [] if rule.get("host")],
        "address": [entry.get("ip") or entry.get("hostname") for entry in balancer],
        "annotations": (ing.get("metadata") or {}).get("annotations") or {},
    }


def node_summary(node: JsonObject) -> dict[str, Any]:
    meta, status = node.get("metadata") or {}, node.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    prefix = "node-role.kubernetes.io/"
    roles = sorted(key[len(prefix) :] for key in meta.get("labels") or {} if key.startswith(prefix))
    return {
        "name": meta.get("name"),
        "ready": ready,
        "roles": roles,
        "unschedulable": bool((node.get("spec") or {}).get("unschedulable")),
        "version": (status.get("nodeInfo") or {}).get("kubeletVersion"),
    }


def workload_summary(obj: JsonObject) -> dict[str, Any]:
    status = obj.get("status") or {}
    return {
        "name": (obj.get("metadata") or {}).get("name"),
        "desired": int((obj.get("spec") or {}).get("replicas", 1)),
        "ready": int(status.get("readyReplicas") or 0),
        "updated": int(status.get("updatedReplicas") or 0),
        "available": int(status.get("availableReplicas") or 0),
    }


def hpa_summary(hpa: JsonObject) -> dict[str, Any]:
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    return {
        "name": (hpa.get("metadata") or {}).get("name"),
        "target": f"{ref.get('kind')}/{ref.get('name')}",
        "min_replicas": spec.get("minReplicas", 1),
        "max_replicas": spec.get("maxReplicas"),
        "current_replicas": status.get("currentReplicas"),
        "desired_replicas": status.get("desiredReplicas"),
    }


def event_time(event: JsonObject) -> datetime | None:
    """When an event last happened: lastTimestamp, else eventTime, firstTimestamp, creation."""
    for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
        instant = parse_time(event.get(key))
        if instant is not None:
            return instant
    return parse_time((event.get("metadata") or {}).get("creationTimestamp"))


def event_summary(event: JsonObject) -> dict[str, Any]:
    involved = event.get("involvedObject") or event.get("regarding") or {}
    instant = event_time(event)
    return {
        "time": None if instant is None else instant.isoformat(),
        "type": event.get("type"),
        "reason": event.get("reason"),
        "object": f"{involved.get('kind')}/{involved.get('name')}",
        "message": (event.get("message") or event.get("note") or "").strip(),
        "count": int(event.get("count") or 1),
    }


def list_events(
    gateway: Gateway, *, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """The namespace's events, oldest first (`--sort-by=.lastTimestamp`), optionally windowed."""
    timed = [(event_time(event) or _EPOCH, event) for event in gateway.list(EVENTS)]
    timed.sort(key=lambda pair: pair[0])
    return [
        event_summary(event)
        for instant, event in timed
        if (since is None or instant >= since) and (until is None or instant <= until)
    ]


def snapshot(gateway: Gateway) -> dict[str, Any]:
    """The runbook's status listings (pods, services, ingresses, nodes, events sorted by time,
    deployments, statefulsets, HPAs), in one JSON-safe mapping."""
    out: dict[str, Any] = {
        "pods": [pod_summary(p) for p in gateway.list(PODS)],
        "services": [service_summary(s) for s in gateway.list(SERVICES)],
        "ingresses": [ingress_summary(i) for i in gateway.list(INGRESSES)],
        "deployments": [workload_summary(d) for d in gateway.list(DEPLOYMENTS)],
        "statefulsets": [workload_summary(s) for s in gateway.list(STATEFULSETS)],
        "hpas": [hpa_summary(h) for h in gateway.list(HPAS)],
        "events": list_events(gateway),
    }
    try:
        out["nodes"] = [node_summary(n) for n in gateway.list(NODES)]
    except TargetError as exc:  # nodes are cluster-scoped: a namespaced runner may not see them
        out["nodes"] = {"unavailable": str(exc)}
    return out


def drill_window(
    gateway: Gateway,
    selectors: Mapping[str, Mapping[str, str]],
    *,
    since: datetime,
    until: datetime,
    containers: Mapping[str, str | None] | None = None,
    log_lines: int = 200,
) -> dict[str, Any]:
    """Events and pod logs (per component, per pod) between `since` and `until` (UTC)."""
    margin = timedelta(seconds=1)  # event stamps have one-second resolution
    events = list_events(gateway, since=since - margin, until=until + margin)
    age = math.ceil((datetime.now(UTC) - since).total_seconds()) + 1
    logs: dict[str, dict[str, list[str]]] = {}
    for component, selector in selectors.items():
        per_pod: dict[str, list[str]] = {}
        for pod in gateway.list(PODS, label_selector=selector_text(selector)):
            if not labels_match(pod, selector):
                continue
            name = str((pod.get("metadata") or {}).get("name"))
            text = gateway.pod_log(
                name,
                container=(containers or {}).get(component),
                tail_lines=log_lines,
                since_seconds=max(age, 1),
                timestamps=True,
            )
            per_pod[name] = _lines_until(text, until + margin)
        logs[component] = per_pod
    return {"since": since.isoformat(), "until": until.isoformat(), "events": events, "logs": logs}


def _lines_until(text: str, until: datetime) -> list[str]:
    """Log lines (`<RFC3339 stamp> <text>`) stamped at or before `until`; unstamped lines kept."""
    kept: list[str] = []
    for line in text.splitlines():
        stamp, _, _rest = line.partition(" ")
        instant = parse_time(stamp)
        if instant is None or instant <= until:
            kept.append(line)
    return kept
