"""Which of our probes and actions does what a runbook step does: one table, read both ways.

`drills runbook coverage` reads it from activity to steps (which runbook steps does this
experiment's activity exercise?), `drills runbook scaffold` from step to activity (which probe or
action stands for this step, with which arguments?). A rule looks at a step and, when it is that
rule's kind of step, returns the activity arguments the step implies; the `keys` are the
arguments that must agree for an activity to exercise the step (the component restarted, the
breaker reset), so restarting Redis does not count as restarting PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from drills.controlplane import paths
from drills.runbook.names import component_of, foreign
from drills.runbook.steps import HttpStep, KubectlStep, ScriptStep, Step

__all__ = ["RULES", "Rule", "activity_exercises", "rules_for"]

Args = dict[str, Any]


@dataclass(frozen=True)
class Rule:
    module: str
    func: str
    probe: bool  # a probe (reads) or an action (changes)
    implied: Callable[[Step], Args | None]  # the arguments the step implies, or None: not this
    keys: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.module}.{self.func}"


def _kubectl(verb: str, subverb: str | None = None) -> Callable[[Step], Args | None]:
    def implied(step: Step) -> Args | None:
        if not isinstance(step, KubectlStep) or (step.verb, step.subverb) != (verb, subverb):
            return None
        component = component_of(step)
        if component is None:
            return None
        args: Args = {"component": component.value}
        if step.replicas is not None and step.replicas.isdigit():
            args["replicas"] = int(step.replicas)
        return args

    return implied


def _listing(step: Step) -> Args | None:
    """`kubectl get` of a kind (pods, statefulsets, services, ingress), or of the databases' pods."""
    if not isinstance(step, KubectlStep) or step.verb != "get":
        return None
    if step.selector_text and component_of(step) is None:
        return None  # pods of something drills does not manage (the ingress controller)
    if step.namespace is not None and foreign(step.namespace):
        return None  # another system's namespace (the ingress controller's)
    kinds = {ref.kind for ref in step.objects if ref.name is None}
    return {} if kinds & {"pod", "statefulset", "deployment", "service", "ingress"} else None


def _http(method: str, path: str, grep: str | None = None) -> Callable[[Step], Args | None]:
    def implied(step: Step) -> Args | None:
        if not isinstance(step, HttpStep) or step.method != method:
            return None
        if urlsplit(step.url).path.rstrip("/") != path:
            return None
        words = {word for stage in step.pipeline for word in stage}
        if grep is not None and grep not in words:
            return None
        return {}

    return implied


def _breaker_reset(step: Step) -> Args | None:
    if not isinstance(step, HttpStep) or step.method != "POST":
        return None
    path = urlsplit(step.url).path.rstrip("/")
    prefix, suffix = paths.BREAKER_RESET_ROUTE.split("{name}")
    name = path.removeprefix(prefix).removesuffix(suffix)
    if path.startswith(prefix) and path.endswith(suffix) and name and "/" not in name:
        return {"name": name}
    return None


def _script(*names: str, **args: Any) -> Callable[[Step], Args | None]:
    def implied(step: Step) -> Args | None:
        if isinstance(step, ScriptStep) and PurePosixPath(step.path).name in names:
            return dict(args)
        return None

    return implied


def _apply(word: str) -> Callable[[Step], Args | None]:
    """`kubectl apply` of a file whose name holds `word`, or of an inline manifest of that kind."""

    def implied(step: Step) -> Args | None:
        if not isinstance(step, KubectlStep) or step.verb != "apply":
            return None
        if any(word in f for f in step.files) or word in (step.manifest or ""):
            return {}
        return None

    return implied


def _psql_long_queries(step: Step) -> Args | None:
    if not isinstance(step, KubectlStep) or step.verb != "exec":
        return None
    return {} if "pg_stat_activity" in " ".join(step.exec_command) else None


RULES: tuple[Rule, ...] = (
    Rule("drills.probes.http", "health_ok", True, _http("GET", paths.HEALTH)),
    Rule("drills.probes.service", "circuit_breakers_per_replica", True, _http("GET", paths.RESILIENCE_HEALTH)),
    Rule("drills.probes.service", "database_status", True, _http("GET", paths.MONITORING_DATABASES)),
    Rule("drills.probes.http", "circuit_breakers_closed", True, _http("GET", paths.CIRCUIT_BREAKERS)),
    Rule("drills.actions.breakers", "wait_for_breakers_closed", False, _http("GET", paths.CIRCUIT_BREAKERS)),
    Rule("drills.probes.service", "rate_limit_status", True, _http("GET", paths.RESILIENCE_METRICS, "rate_limit")),
    Rule("drills.probes.service", "pool_status", True, _http("GET", paths.RESILIENCE_METRICS)),
    Rule("drills.probes.http", "graphql_health_check", True, _http("POST", paths.GRAPHQL)),
    Rule("drills.actions.service", "reset_circuit_breaker", False, _breaker_reset, ("name",)),
    Rule("drills.actions.components", "restart_component", False, _kubectl("rollout", "restart"), ("component",)),
    Rule("drills.actions.components", "restart_component", False, _kubectl("rollout", "status"), ("component",)),
    Rule("drills.actions.components", "scale_component", False, _kubectl("scale"), ("component",)),
    Rule("drills.probes.target", "component_logs", True, _kubectl("logs"), ("component",)),
    Rule("drills.probes.target", "target_status", True, _listing),
    Rule("drills.actions.connections", "terminate_long_queries", False, _psql_long_queries),
    Rule("drills.actions.service", "set_rate_limit", False, _apply("rate-limiting")),
    Rule("drills.actions.service", "block_addresses", False, _apply("NetworkPolicy")),
    Rule("drills.actions.service", "set_maintenance", False, _apply("maintenance-mode")),
    Rule("drills.actions.components", "wait_until_healthy", False, _script("production-readiness-check.sh")),
    Rule("drills.actions.components", "wait_until_healthy", False, _http("POST", paths.GRAPHQL)),
    Rule("drills.probes.database", "integrity_check", True, _script("database-integrity-check.sh", "check-data-consistency.sh")),
    Rule("drills.probes.database", "backup_freshness", True, _script("verify-backups.sh")),
    Rule("drills.actions.database", "check_backup_freshness", False, _script("verify-backups.sh")),
    Rule("drills.probes.database", "list_backups", True, _script("list-backups.sh")),
    Rule("drills.actions.database", "verify_backup", False, _script("verify-backup-integrity.sh")),
    Rule("drills.actions.database", "restore_point_in_time", False, _script("restore-postgresql.sh")),
    Rule("drills.actions.database", "restore_redis_snapshot", False, _script("restore-redis.sh")),
    Rule("drills.actions.graph", "restore_graph_snapshot", False, _script("restore-neo4j.sh")),
    Rule("drills.actions.database", "validate_restored_data", False, _script("validate-restored-data.sh")),
    Rule("drills.actions.database", "test_restore_newest_backup", False, _script("test-backup-restore.sh")),
    Rule("drills.actions.components", "kill_components", False, _script("simulate-database-failure.sh", components=["postgres"]), ("components",)),
    Rule("drills.actions.breakers", "assert_breaker_opens", False, _script("test-circuit-breakers.sh")),
    Rule("drills.actions.breakers", "assert_breaker_resets", False, _script("test-circuit-breakers.sh")),
    Rule("drills.actions.breakers", "assert_breaker_closes", False, _script("test-circuit-breakers.sh")),
    Rule("drills.actions.monitoring", "await_alert", False, _script("test-monitoring-alerts.sh")),
)  # fmt: skip


def rules_for(step: Step) -> list[tuple[Rule, Args]]:
    """The rules that stand for `step`, in table order, with the arguments it implies."""
    out: list[tuple[Rule, Args]] = []
    for rule in RULES:
        args = rule.implied(step)
        if args is not None:
            out.append((rule, args))
    return out


def _agrees(given: object, implied: object) -> bool:
    """An activity's argument against a step's (a list on the activity side: any member)."""
    if implied is None:
        return True  # the step does not say (`--replicas=N`)
    if isinstance(implied, list):
        return all(_agrees(given, item) for item in implied)
    if isinstance(given, list | tuple):
        return any(_agrees(item, implied) for item in given)
    return str(given) == str(implied)


def activity_exercises(module: str, func: str, arguments: Mapping[str, Any], step: Step) -> bool:
    """Whether an experiment activity (python provider) does what `step` does."""
    for rule, implied in rules_for(step):
        if (rule.module, rule.func) != (module, func):
            continue
        if all(_agrees(arguments.get(key), implied.get(key)) for key in rule.keys):
            return True
    return False
