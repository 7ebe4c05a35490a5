"""Builders for the objects a test seeds into the API server: only the fields that matter.

The official client validates what it reads, so each builder includes the fields the schema
requires (a Deployment has a selector and a pod template with containers, and so on).
"""

from __future__ import annotations

import base64
from typing import Any

NS = "maestro-staging"


def deployment(
    name: str, labels: dict[str, str], *, replicas: int = 2, container: str = "app"
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "generation": 1, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": container, "image": f"{name}:1"}]},
            },
        },
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
        },
    }


def statefulset(
    name: str,
    labels: dict[str, str],
    *,
    replicas: int = 1,
    container: str = "postgresql",
    strategy: str = "RollingUpdate",
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": NS, "generation": 1, "labels": labels},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": labels},
            "updateStrategy": {"type": strategy},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": container, "image": "postgres:16"}]},
            },
        },
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "readyReplicas": replicas,
            "updatedReplicas": replicas,
            "currentRevision": "r1",
            "updateRevision": "r1",
        },
    }


def pod(
    name: str,
    labels: dict[str, str],
    *,
    ready: bool = True,
    changed: str = "2024-01-15T10:00:00Z",
    container: str = "app",
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {"containers": [{"name": container, "image": "x"}], "nodeName": "node-a"},
        "status": {
            "phase": "Running",
            "podIP": "10.42.0.7",
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "lastTransitionTime": changed,
                }
            ],
            "containerStatuses": [
                {
                    "name": container,
                    "ready": ready,
                    "restartCount": 0,
                    "image": "x",
                    "imageID": "",
                }
            ],
        },
    }


def service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"type": "ClusterIP", "clusterIP": "10.43.0.10", "ports": [{"port": 80}]},
    }


def ingress(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": NS, "annotations": {"team": "sre"}},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "maestro.staging.example"}]},
    }


def node(name: str, *, ready: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"node-role.kubernetes.io/worker": ""}},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "nodeInfo": {
                "kubeletVersion": "v1.30.2",
                "architecture": "amd64",
                "bootID": "",
                "containerRuntimeVersion": "",
                "kernelVersion": "",
                "kubeProxyVersion": "",
                "machineID": "",
                "operatingSystem": "linux",
                "osImage": "",
                "systemUUID": "",
            },
        },
    }


def event(
    name: str, last: str, reason: str, obj: str = "maestro-control-plane-1"
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": NS},
        "involvedObject": {"kind": "Pod", "name": obj, "namespace": NS},
        "reason": reason,
        "message": f"{reason} happened",
        "type": "Normal",
        "lastTimestamp": last,
        "count": 1,
    }


def secret(name: str, **data: str) -> dict[str, Any]:
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NS},
        "data": encoded,
    }


def hpa(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": "maestro-control-plane",
            },
            "minReplicas": 2,
            "maxReplicas": 10,
        },
        "status": {"currentReplicas": 2, "desiredReplicas": 4},
    }
