"""`drills schedule --emit kubernetes`: valid documents, least privilege, one CronJob per cadence."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from drills.cadence import CADENCES
from drills.errors import UnsafeTargetError
from drills.runbook import read_runbook
from drills.schedule import emit_kubernetes
from drills.targets.kubernetes.driver import KubernetesTarget
from drills.targets.kubernetes.permissions import (
    CLUSTER_RULES,
    INVENTORY_RULES,
    NAMESPACED_RULES,
    rules_for_profile,
)
from drills.targets.kubernetes.profile import KubernetesProfile
from tests.k8s.kube_server import KubeServer
from tests.k8s.rbac import granted, used
from tests.k8s.tour import prepare, tour

pytestmark = pytest.mark.k8s

ROOT = Path(__file__).resolve().parents[2]
NS = "maestro-staging"

NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253}
META = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {
        "name": NAME,
        "namespace": NAME,
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
CLUSTER_META = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": NAME},
    "not": {"required": ["namespace"]},
}
STRINGS = {"type": "array", "minItems": 1, "items": {"type": "string", "not": {"const": "*"}}}
RULE = {
    "type": "object",
    "required": ["apiGroups", "resources", "verbs"],
    "additionalProperties": False,
    "properties": {
        "apiGroups": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "not": {"const": "*"}},
        },
        "resources": STRINGS,
        "verbs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "enum": [
                    "get",
                    "list",
                    "watch",
                    "create",
                    "update",
                    "patch",
                    "delete",
                    "deletecollection",
                ]
            },
        },
        "resourceNames": STRINGS,
    },
}
ROLE_REF = {
    "type": "object",
    "required": ["apiGroup", "kind", "name"],
    "properties": {
        "apiGroup": {"const": "rbac.authorization.k8s.io"},
        "kind": {"enum": ["Role", "ClusterRole"]},
    },
}
SUBJECTS = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["kind", "name", "namespace"],
        "properties": {"kind": {"const": "ServiceAccount"}},
    },
}
CONTAINER = {
    "type": "object",
    "required": ["name", "image", "args", "securityContext", "volumeMounts"],
    "properties": {
        "args": {"type": "array", "items": {"type": "string"}},
        "securityContext": {
            "type": "object",
            "required": ["allowPrivilegeEscalation", "readOnlyRootFilesystem"],
            "properties": {
                "allowPrivilegeEscalation": {"const": False},
                "readOnlyRootFilesystem": {"const": True},
            },
        },
        "volumeMounts": {
            "type": "array",
            "items": {"type": "object", "required": ["name", "mountPath"]},
        },
    },
}
POD_SPEC = {
    "type": "object",
    "required": ["serviceAccountName", "restartPolicy", "containers", "volumes", "securityContext"],
    "properties": {
        "restartPolicy": {"enum": ["Never", "OnFailure"]},
        "containers": {"type": "array", "minItems": 1, "items": CONTAINER},
        "volumes": {"type": "array", "items": {"type": "object", "required": ["name"]}},
        "securityContext": {
            "type": "object",
            "required": ["runAsNonRoot"],
            "properties": {"runAsNonRoot": {"const": True}},
        },
    },
}
SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("v1", "ServiceAccount"): {"required": ["metadata"], "properties": {"metadata": META}},
    ("v1", "PersistentVolumeClaim"): {
        "required": ["metadata", "spec"],
        "properties": {
            "metadata": META,
            "spec": {"type": "object", "required": ["accessModes", "resources"],
                     "properties": {"resources": {"type": "object", "required": ["requests"]}}},
        },
    },
    ("rbac.authorization.k8s.io/v1", "Role"): {
        "required": ["metadata", "rules"],
        "properties": {"metadata": META, "rules": {"type": "array", "minItems": 1, "items": RULE}},
    },
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): {
        "required": ["metadata", "rules"],
        "properties": {"metadata": CLUSTER_META, "rules": {"type": "array", "minItems": 1, "items": RULE}},
    },
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): {
        "required": ["metadata", "roleRef", "subjects"],
        "properties": {"metadata": META, "roleRef": ROLE_REF, "subjects": SUBJECTS},
    },
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): {
        "required": ["metadata", "roleRef", "subjects"],
        "properties": {"metadata": CLUSTER_META, "roleRef": ROLE_REF, "subjects": SUBJECTS},
    },
    ("batch/v1", "CronJob"): {
        "required": ["metadata", "spec"],
        "properties": {
            "metadata": META,
            "spec": {
                "type": "object",
                "required": ["schedule", "concurrencyPolicy", "jobTemplate"],
                "properties": {
                    "schedule": {"type": "string"},
                    "concurrencyPolicy": {"const": "Forbid"},
                    "jobTemplate": {
                        "type": "object",
                        "required": ["spec"],
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["template", "backoffLimit"],
                                "properties": {
                                    "backoffLimit": {"const": 0},
                                    "template": {"type": "object", "required": ["spec"], "properties": {"spec": POD_SPEC}},
                                },
                            }
                        },
                    },
                },
            },
        },
    },
}  # fmt: skip


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


@pytest.fixture
def docs() -> list[dict[str, Any]]:
    return documents(emit_kubernetes(NS, "ghcr.io/acme/drills:0.1.0"))


def test_every_document_passes_its_schema(docs: list[dict[str, Any]]) -> None:
    kinds = []
    for doc in docs:
        key = (doc.get("apiVersion"), doc.get("kind"))
        assert key in SCHEMAS, f"unexpected document {key}"
        jsonschema.validate(doc, {"type": "object", **SCHEMAS[key]})
        kinds.append(doc["kind"])
    assert kinds == ["ServiceAccount", "Role", "RoleBinding", "PersistentVolumeClaim",
                     "CronJob", "CronJob", "CronJob"]  # fmt: skip


def test_the_schema_check_catches_a_wildcard_and_overlap() -> None:
    bad_role = documents(emit_kubernetes(NS, "img"))[1]
    bad_role["rules"][0]["verbs"] = ["*"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            bad_role, {"type": "object", **SCHEMAS[("rbac.authorization.k8s.io/v1", "Role")]}
        )
    cron = documents(emit_kubernetes(NS, "img"))[-1]
    cron["spec"]["concurrencyPolicy"] = "Allow"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(cron, {"type": "object", **SCHEMAS[("batch/v1", "CronJob")]})


CRON_FIELD = re.compile(r"\*|\d+(-\d+)?(,\d+(-\d+)?)*(/\d+)?")
CRON_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def valid_cron(expression: str) -> bool:
    fields = expression.split()
    if len(fields) != 5:
        return False
    for field, (low, high) in zip(fields, CRON_RANGES, strict=True):
        if not CRON_FIELD.fullmatch(field):
            return False
        numbers = [int(n) for n in re.findall(r"\d+", field.split("/")[0])]
        if any(not low <= n <= high for n in numbers):
            return False
    return True


def test_one_cronjob_per_runbook_cadence(docs: list[dict[str, Any]]) -> None:
    crons = {
        d["metadata"]["labels"]["drills.dev/cadence"]: d for d in docs if d["kind"] == "CronJob"
    }
    assert set(crons) == {"monthly", "quarterly", "semi-annual"}  # no rebuild: see below
    args = {
        cadence: c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
        for cadence, c in crons.items()
    }
    target = ["--target", "/etc/drills/profile.yaml"]
    assert args == {  # each cadence's whole suite
        "monthly": ["run", "--suite", "monthly", *target],
        "quarterly": ["run", "--suite", "quarterly", *target],
        "semi-annual": ["run", "--suite", "semi-annual", *target],
    }
    assert {c["metadata"]["name"] for c in crons.values()} == {
        "drills-monthly",
        "drills-quarterly",
        "drills-semi-annual",
    }
    schedules = [c["spec"]["schedule"] for c in crons.values()]
    assert all(valid_cron(s) for s in schedules)
    assert not valid_cron("0 4 32 * *") and not valid_cron("0 4 * *")  # the validator bites
    assert len({s.split()[2] for s in schedules}) == 3  # cadences start on separate days
    for cron in crons.values():
        assert cron["spec"]["timeZone"] == "Etc/UTC" and cron["spec"]["schedule"].startswith("0 4 ")


def test_pods_run_the_image_as_the_service_account_with_reports_volume(
    docs: list[dict[str, Any]],
) -> None:
    claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    (account,) = [d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"]
    for cron in (d for d in docs if d["kind"] == "CronJob"):
        spec = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        assert container["image"] == "ghcr.io/acme/drills:0.1.0"
        assert spec["serviceAccountName"] == account
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["reports"]["persistentVolumeClaim"]["claimName"] in claims
        assert volumes["profile"]["configMap"]["name"] == "drills-profile"
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert mounts == {"profile": "/etc/drills", "reports": "/reports", "tmp": "/tmp"}
        assert {"name": "DRILLS_HOME", "value": "/reports"} in container["env"]
        assert spec["securityContext"]["runAsUser"] == 10001


def test_bindings_point_at_their_roles(docs: list[dict[str, Any]]) -> None:
    by_kind = {d["kind"]: d for d in docs}
    ref = by_kind["RoleBinding"]["roleRef"]
    assert (ref["kind"], ref["name"]) == ("Role", by_kind["Role"]["metadata"]["name"])
    assert by_kind["RoleBinding"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "drills-runner", "namespace": NS}
    ]
    assert "ClusterRole" not in by_kind  # nothing cluster-wide: drills never list nodes


def test_the_role_grants_exactly_what_the_driver_uses(
    cluster: KubeServer, profile: KubernetesProfile
) -> None:
    prepare(cluster)
    driver = KubernetesTarget(
        profile, cluster.api_client(), environ={"DRILLS_TEST_PGPASSWORD": "pw"}
    )
    tour(driver, hang_on=cluster)

    requested = used(cluster.driver_requests())
    allowed = granted([*NAMESPACED_RULES, *INVENTORY_RULES, *CLUSTER_RULES])
    assert requested - allowed == set()  # every request is allowed (also checked per test)
    assert allowed - requested == set()  # and nothing is allowed that no request needs
    emitted = documents(emit_kubernetes(NS, "img"))
    assert next(d for d in emitted if d["kind"] == "Role")["rules"] == [
        r.to_json() for r in NAMESPACED_RULES
    ]


def test_secret_references_get_exactly_those_secrets(profile: KubernetesProfile) -> None:
    docs = documents(
        emit_kubernetes(NS, "img", secret_names=["pg-app", "pg-app"], env_from_secret="drills-env")
    )
    role = next(d for d in docs if d["kind"] == "Role")
    assert role["rules"][-1] == {
        "apiGroups": [""],
        "resources": ["secrets"],
        "verbs": ["get"],
        "resourceNames": ["pg-app"],
    }
    cron = next(d for d in docs if d["kind"] == "CronJob")
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "drills-env"}}]
    plain = documents(emit_kubernetes(NS, "img"))
    assert "secrets" not in str(next(d for d in plain if d["kind"] == "Role")["rules"])


def test_the_role_for_a_profile_names_its_objects(profile: KubernetesProfile) -> None:
    docs = documents(emit_kubernetes(NS, "img", profile=profile))
    rules = next(d for d in docs if d["kind"] == "Role")["rules"]
    assert rules == [r.to_json() for r in rules_for_profile(profile)]
    named = {(r["resources"][0], v): r.get("resourceNames") for r in rules for v in r["verbs"]}
    assert named["leases", "patch"] == ["drills-lock"]
    assert named["configmaps", "delete"] == ["maestro-maintenance"]
    assert named["ingresses", "patch"] == ["maestro", "maestro-maintenance-page"] or named[
        "ingresses", "patch"
    ] == ["maestro"]
    assert named["deployments/scale", "patch"] == ["maestro-control-plane"]
    assert ("statefulsets/scale", "patch") not in named  # only the control plane is scaled
    assert named["pods/exec", "create"] == ["postgresql-0"]
    assert not [r for r in rules if r["resources"][0] in ("nodes", "horizontalpodautoscalers")]
    assert not [r for r in rules if "list" in r["verbs"] and r["resources"][0] in (
        "services", "deployments", "statefulsets", "ingresses")]  # fmt: skip


def test_drills_the_cluster_cannot_run_are_left_out_and_named() -> None:
    text = emit_kubernetes(NS, "img")
    docs = list(yaml.safe_load_all(text))
    assert not [d for d in docs if d["metadata"]["name"] == "drills-annual"]  # nothing left
    assert (
        "# left out: infrastructure-rebuild: destroy-every-server: "
        "the kubernetes target cannot destroy infrastructure"
    ) in text
    assert (
        "# left out: backup-restore-test: restore-newest-backup-into-scratch-instance: "
        "the kubernetes target cannot restore into a scratch instance"
    ) in text


def test_a_schedule_for_a_production_namespace_is_refused() -> None:
    with pytest.raises(UnsafeTargetError, match="namespace 'intelgraph-prod'"):
        emit_kubernetes("intelgraph-prod", "img")
    assert "intelgraph-prod" in emit_kubernetes("intelgraph-prod", "img", allow_production=True)


def test_cadence_table_matches_the_runbook() -> None:
    runbook = read_runbook(ROOT / "tests" / "runbook" / "runbook.md")
    assert [c.name for c in CADENCES] == [entry.cadence for entry in runbook.cadence]
    assert [c.drills[0] for c in CADENCES] == [
        "database-failover",
        "complete-outage",
        "cross-region-failover",
        "infrastructure-rebuild",
    ]


def test_the_runner_image_definition() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    instructions = [
        line for line in dockerfile.splitlines() if line and not line.startswith(("#", " "))
    ]
    assert [i for i in instructions if i.startswith("FROM ")] == [
        "FROM python:3.11-slim AS deps",
        "FROM python:3.11-slim",
    ]
    install = "pip install --require-hashes --no-deps -r /tmp/requirements-runtime.lock"
    assert install in dockerfile  # the runtime lock: no dev tools in the image
    assert "USER 10001:10001" in instructions  # the CronJobs' runAsUser
    assert instructions[-2:] == ['ENTRYPOINT ["drills"]', 'CMD ["--help"]']
    copied = {
        line.split()[1]
        for line in instructions
        if line.startswith("COPY ") and "--from" not in line
    }
    ignore = (ROOT / "deploy" / "Dockerfile.dockerignore").read_text()
    for source in copied - {"/tmp/requirements-runtime.lock"}:
        assert f"!{source}" in ignore or f"!{source}/**" in ignore, source


def test_a_suite_on_a_cluster_leaves_out_what_the_cluster_cannot_run(tmp_path: Path) -> None:
    """The monthly CronJob runs the whole monthly suite: the scratch restore is left out, named."""
    from drills.catalog import resolve
    from drills.suite import cannot_run
    from tests.k8s.conftest import write_profile

    profile = str(write_profile(tmp_path))
    assert cannot_run(profile, resolve("backup-restore-test")) == [
        "restore-newest-backup-into-scratch-instance: "
        "the kubernetes target cannot restore into a scratch instance"
    ]
    assert cannot_run(profile, resolve("database-failover")) == []
    assert cannot_run("sandbox", resolve("backup-restore-test")) == []  # the sandbox runs it
