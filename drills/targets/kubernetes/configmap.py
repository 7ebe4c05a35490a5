"""The profile as the ConfigMap that the scheduled CronJobs mount at `/etc/drills`.

`drills schedule --profile FILE` prints it beside the CronJobs: `profile.yaml` plus every file
the profile names (Job templates, the maintenance manifest), each under a flat key (a ConfigMap
key cannot hold a `/`), and the profile rewritten to name those keys. In the cluster the runner
talks to the API server as its ServiceAccount (in-cluster configuration), so `kubeconfig` and
`context` are dropped: a kubeconfig holds credentials and never belongs in a ConfigMap.

Secrets stay references. A profile cannot hold a secret value (the parser refuses one), and a
Job template whose container sets a password-like variable to a literal `value` is refused here:
it would be readable by anyone who can read ConfigMaps (use `valueFrom.secretKeyRef`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from drills.errors import ProfileError
from drills.targets.kubernetes.profile import JOB_PURPOSES, KubernetesProfile

__all__ = ["PROFILE_KEY", "profile_configmap"]

PROFILE_KEY = "profile.yaml"
MAINTENANCE_KEY = "maintenance.yaml"
_SECRET_LIKE = re.compile(r"PASSW(OR)?D|SECRET|TOKEN|CREDENTIAL|API_?KEY|PRIVATE_?KEY", re.I)


def profile_configmap(
    profile: KubernetesProfile, name: str, namespace: str, labels: Mapping[str, str]
) -> dict[str, Any]:
    """The ConfigMap `name` holding `profile` (read again from its file) and the files it names."""
    if profile.source is None:
        raise ProfileError("a profile read from a file is needed to build its ConfigMap")
    source = profile.source
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    base = source.parent
    data: dict[str, str] = {}

    cluster = dict(raw.get("kubernetes") or {})
    cluster.pop("kubeconfig", None)
    cluster.pop("context", None)
    raw["kubernetes"] = cluster

    maintenance = raw.get("maintenance")
    if isinstance(maintenance, dict) and maintenance.get("manifest"):
        data[MAINTENANCE_KEY] = _read(base, str(maintenance["manifest"]), "maintenance.manifest")
        raw["maintenance"] = {**maintenance, "manifest": MAINTENANCE_KEY}

    jobs = dict(raw.get("jobs") or {})
    for purpose in JOB_PURPOSES:
        if not jobs.get(purpose):
            continue
        key = f"job-{purpose.replace('_', '-')}.yaml"
        data[key] = _read(base, str(jobs[purpose]), f"jobs.{purpose}")
        template = profile.jobs.get(purpose)
        if template is not None:
            _refuse_literal_secrets(template, f"{source}: jobs.{purpose}")
        jobs[purpose] = key
    if jobs:
        raw["jobs"] = jobs

    header = (
        f"# {source.name} as the drills CronJobs read it (drills schedule --profile): in-cluster\n"
        "# credentials (the ServiceAccount), files it names beside it, secrets as references.\n"
    )
    data = {PROFILE_KEY: header + yaml.safe_dump(raw, sort_keys=False), **data}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "data": data,
    }


def _read(base: Path, text: str, where: str) -> str:
    path = Path(text).expanduser()
    path = path if path.is_absolute() else base / path
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{where}: cannot read {path} ({exc})") from None


def _refuse_literal_secrets(template: Mapping[str, Any], where: str) -> None:
    spec = ((template.get("spec") or {}).get("template") or {}).get("spec") or {}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for item in container.get("env") or []:
            name = str(item.get("name", ""))
            if _SECRET_LIKE.search(name) and item.get("value"):
                raise ProfileError(
                    f"{where}: container {container.get('name')!r} sets {name} to a literal "
                    "value, which would be readable in the ConfigMap; use valueFrom.secretKeyRef"
                )
