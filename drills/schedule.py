"""The runbook's drill cadence as something a cluster runs by itself: least-privilege CronJobs.

`emit_kubernetes()` prints, as one multi-document YAML stream for `kubectl apply -f -`:

- a ServiceAccount, and a Role + RoleBinding granting exactly the verbs the drills use (see
  `drills.targets.kubernetes.permissions`; no wildcards, nothing cluster-wide); given the
  profile, tailored to it: only the objects it names, by name where RBAC can check one, plus
  `get` on the Secrets it references;
- a PersistentVolumeClaim for reports and history (`DRILLS_HOME=/reports`);
- given the profile, the ConfigMap the CronJobs mount at /etc/drills: the profile and the files
  it names, in-cluster credentials, secrets as references (`drills.targets.kubernetes.configmap`);
- one CronJob per cadence of the cadence table (`drills.cadence`), running that cadence's whole
  suite (`drills run --suite NAME`) at its cron time. Drills the Kubernetes target cannot run
  (the annual infrastructure rebuild; the backup-restore test's scratch restore) are left out,
  with the reason in a comment and on stderr; a cadence with nothing left gets no CronJob. Each
  forbids overlapping runs, never retries a drill (a retried drill measures a different outage),
  and runs the `drills` image as a non-root user with a read-only root filesystem. With a
  Pushgateway URL, each run pushes its results there (`drills run --pushgateway`).

When each cadence runs is the table's `cron` (04:00 UTC, on separate days).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import yaml

from drills.cadence import CADENCES, Cadence
from drills.metrics import validate_gateway_url
from drills.safety import ProductionGuard
from drills.targets.kubernetes.configmap import profile_configmap as configmap_for
from drills.targets.kubernetes.permissions import (
    NAMESPACED_RULES,
    Rule,
    rules_for_profile,
    secrets_rule,
)
from drills.targets.kubernetes.profile import KubernetesProfile

__all__ = ["emit_kubernetes", "left_out", "role_rules", "scheduled"]

PROFILE_DIR = "/etc/drills"
PROFILE_FILE = f"{PROFILE_DIR}/profile.yaml"
REPORTS_DIR = "/reports"
HISTORY_VARIABLE = "DRILLS_HISTORY"  # also the key of `--history-secret`'s Secret
_LABELS = {"app.kubernetes.io/name": "drills", "app.kubernetes.io/managed-by": "drills"}
_RUNNER_UID = 10001


def left_out() -> dict[str, list[str]]:
    """Drills of the cadence table the Kubernetes target cannot run: scenario -> why (per step).

    Known without a cluster (`drills.dryrun.kubernetes_cannot_run`): a suite on a cluster leaves
    them out, and a cadence with nothing left to run gets no CronJob (one that could only fail
    every time is not scheduled).
    """
    from drills.catalog import resolve
    from drills.dryrun import kubernetes_cannot_run

    out: dict[str, list[str]] = {}
    for cadence in CADENCES:
        for name in cadence.drills:
            reasons = kubernetes_cannot_run(resolve(name).path)
            if reasons:
                out[name] = reasons
    return out


def scheduled(skipped: Collection[str]) -> list[Cadence]:
    """The cadences a cluster runs: those with a drill left once `skipped` ones are left out."""
    return [c for c in CADENCES if any(name not in skipped for name in c.drills)]


def emit_kubernetes(
    namespace: str,
    image: str,
    profile_configmap: str = "drills-profile",
    *,
    service_account: str = "drills-runner",
    secret_names: Sequence[str] = (),
    env_from_secret: str | None = None,
    reports_claim: str = "drills-reports",
    reports_storage: str = "1Gi",
    allow_production: bool = False,
    profile: KubernetesProfile | None = None,
    pushgateway: str | None = None,
    history_secret: str | None = None,
) -> str:
    """The whole schedule as multi-document YAML (refuses a production-looking namespace, and a
    profile the production guard would refuse at run time).

    `profile_configmap` holds `profile.yaml` (and any Job templates or manifests it names,
    mounted beside it at /etc/drills); `env_from_secret` is a Secret whose keys become the
    runner's environment (for `{env: VAR}` references in the profile). With `profile`, the
    Role is tailored to it (`rules_for_profile`), `secret_names` come from it, and the
    ConfigMap itself is emitted. With `pushgateway`, every run pushes its results there. With
    `history_secret`, every run records into the team history whose URL is that Secret's
    `DRILLS_HISTORY` key (the history CI pipelines also write).
    """
    guard = ProductionGuard(allow_production=allow_production)
    guard.check(namespace=namespace)
    if profile is not None:  # what every scheduled run of this profile would refuse: now
        guard.check(
            namespace=profile.cluster.namespace,
            context=profile.cluster.context,
            profile_environment=True,
            environment=profile.environment,
        )
    gateway = None if pushgateway is None else validate_gateway_url(pushgateway)
    meta = _meta_factory(namespace)
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(service_account)},
        _role(meta(service_account), role_rules(secret_names, profile)),
        _binding("RoleBinding", meta(service_account), "Role", service_account, namespace),
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": meta(reports_claim),
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": reports_storage}},
            },
        },
    ]
    if profile is not None:
        docs.append(configmap_for(profile, profile_configmap, namespace, _LABELS))
    skipped = left_out()
    for cadence in scheduled(skipped):
        docs.append(
            _cronjob(
                meta(f"drills-{cadence.name}"),
                cadence,
                image=image,
                service_account=service_account,
                profile_configmap=profile_configmap,
                reports_claim=reports_claim,
                env_from_secret=env_from_secret,
                pushgateway=gateway,
                history_secret=history_secret,
            )
        )
    header = (
        f"# drills schedule for namespace {namespace}: apply with `kubectl apply -f -`.\n"
        "# Generated by `drills schedule --emit kubernetes`; edit the profile, not this file.\n"
    )
    if profile is None:
        header += (
            f"# no --profile: the CronJobs mount ConfigMap {profile_configmap} (profile.yaml and the"
            " files it names),\n# which is not printed here; give --profile FILE to print it.\n"
        )
    for name, reasons in skipped.items():
        header += f"# left out: {name}: " + "; ".join(reasons) + "\n"
    return header + yaml.dump_all(
        docs, Dumper=_BlockDumper, sort_keys=False, default_flow_style=False
    )


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (the ConfigMap's files) as `|` blocks, readable in the output."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _text)


def _meta_factory(namespace: str) -> Callable[[str], dict[str, Any]]:
    def meta(name: str) -> dict[str, Any]:
        return {"name": name, "namespace": namespace, "labels": dict(_LABELS)}

    return meta


def role_rules(
    secret_names: Sequence[str] = (), profile: KubernetesProfile | None = None
) -> tuple[Rule, ...]:
    """The runner's Role: tailored to `profile` when given, else every verb drills use."""
    if profile is not None:
        return rules_for_profile(profile)
    if secret_names:
        return (*NAMESPACED_RULES, secrets_rule(secret_names))
    return NAMESPACED_RULES


def _role(metadata: dict[str, Any], rules: Sequence[Rule]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata,
        "rules": [rule.to_json() for rule in rules],
    }


def _binding(
    kind: str, metadata: dict[str, Any], role_kind: str, service_account: str, namespace: str
) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": role_kind,
            "name": metadata["name"],
        },
        "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}],
    }


def _cronjob(
    metadata: dict[str, Any],
    cadence: Cadence,
    *,
    image: str,
    service_account: str,
    profile_configmap: str,
    reports_claim: str,
    env_from_secret: str | None,
    pushgateway: str | None = None,
    history_secret: str | None = None,
) -> dict[str, Any]:
    labels = {**_LABELS, "drills.dev/cadence": cadence.name}
    push = [] if pushgateway is None else ["--pushgateway", pushgateway]
    container: dict[str, Any] = {
        "name": "drills",
        "image": image,
        "args": ["run", "--suite", cadence.name, "--target", PROFILE_FILE, *push],
        "env": [{"name": "DRILLS_HOME", "value": REPORTS_DIR}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"memory": "1Gi"},
        },
        "volumeMounts": [
            {"name": "profile", "mountPath": PROFILE_DIR, "readOnly": True},
            {"name": "reports", "mountPath": REPORTS_DIR},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    if env_from_secret is not None:
        container["envFrom"] = [{"secretRef": {"name": env_from_secret}}]
    if history_secret is not None:  # a URL with a password: a reference, never a value
        ref = {"name": history_secret, "key": HISTORY_VARIABLE}
        container["env"].append({"name": HISTORY_VARIABLE, "valueFrom": {"secretKeyRef": ref}})
    pod_spec = {
        "serviceAccountName": service_account,
        "restartPolicy": "Never",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": _RUNNER_UID,
            "runAsGroup": _RUNNER_UID,
            "fsGroup": _RUNNER_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [
            {"name": "profile", "configMap": {"name": profile_configmap}},
            {"name": "reports", "persistentVolumeClaim": {"claimName": reports_claim}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {**metadata, "labels": labels},
        "spec": {
            "schedule": cadence.cron,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": cadence.deadline_seconds,
                    "ttlSecondsAfterFinished": 7 * 24 * 3600,
                    "template": {"metadata": {"labels": labels}, "spec": pod_spec},
                },
            },
        },
    }
