"""`drills run --dry-run` on a Kubernetes profile: every step, what it would send, or why it
would fail, with no side effect anywhere.

Running the experiment through Chaos Toolkit with a dry-run driver is not enough: many steps act
outside the driver (SQL through `database.conninfo`, a traffic flood, business writes and breaker
resets through the service's API), and a steady state that fails skips the method silently. So
the plan walks the experiment itself, step by step, and each step is one of:

- a *driver* step (all its effects go through the Kubernetes driver): run against the dry-run
  driver, whose gateway records each mutating request instead of sending it; reads still go out,
  so the plan is made against the cluster's real state (a missing object fails here);
- a *read* (probes): the steady state's probes run for real and must hold; the method's probes
  are reads too and run, except those that only make sense after the fault;
- a *described* step: printed as the requests it would send (`would POST .../api/runs x 20`),
  never run, with what it needs checked (a `database.conninfo`, a Job template).

Then every Kubernetes request the plan holds is checked with a SelfSubjectAccessReview (a POST
that changes nothing): a missing verb is a "would fail" line before anything is touched. The same
plan, without the steady state, is a real run's preflight (`blocking_problems`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drills.controlplane import paths
from drills.errors import DrillError
from drills.monitoring.capabilities import HttpFaultTarget, MonitoredTarget
from drills.targets.base import (
    BackupFreshness,
    InfrastructureRebuild,
    ScratchRestore,
    SignalKind,
)

__all__ = [
    "DryRun",
    "PlannedStep",
    "blocking_problems",
    "plan_experiment",
    "unsupported_steps",
]

Args = Mapping[str, Any]
Describer = Callable[[Args, Any], tuple[list[str], str | None]]

DRIVER_STEPS = frozenset(
    {
        "drills.actions.components:kill_components",
        "drills.actions.components:restart_component",
        "drills.actions.components:scale_component",
        "drills.actions.components:ensure_running",
        "drills.actions.network:set_network_fault",
        "drills.actions.network:heal_network",
        "drills.actions.service:set_rate_limit",
        "drills.actions.service:clear_rate_limit",
        "drills.actions.service:block_addresses",
        "drills.actions.service:unblock_all_addresses",
        "drills.actions.service:set_maintenance",
        "drills.actions.database:take_backup",
        "drills.actions.database:promote_standby",
        "drills.actions.database:fail_back",
        "drills.actions.database:cleanup_scratch_restores",
        "drills.actions.database:test_restore_newest_backup",
        "drills.actions.database:check_backup_freshness",
        "drills.actions.connections:terminate_long_queries",
        "drills.actions.connections:restore_database_connections",
        "drills.actions.rebuild:destroy_infrastructure",
        "drills.actions.rebuild:rebuild_infrastructure",
    }
)
NETWORK_FAULTS = frozenset({"blackhole", "latency", "reset"})
# Steps that need an optional capability of the target (a protocol in drills.targets.base).
NEEDS_CAPABILITY: dict[str, tuple[type, str]] = {
    "drills.actions.database:test_restore_newest_backup": (
        ScratchRestore,
        "restore into a scratch instance",
    ),
    "drills.actions.database:check_backup_freshness": (BackupFreshness, "report backup freshness"),
    "drills.probes.database:backup_freshness": (BackupFreshness, "report backup freshness"),
    "drills.actions.rebuild:destroy_infrastructure": (
        InfrastructureRebuild,
        "destroy infrastructure",
    ),
    "drills.actions.rebuild:rebuild_infrastructure": (
        InfrastructureRebuild,
        "rebuild infrastructure",
    ),
    "drills.actions.monitoring:prepare_alert_drill": (MonitoredTarget, "read its monitoring"),
    "drills.actions.monitoring:inject_alert_fault": (
        HttpFaultTarget,
        "inject HTTP faults (error rate, latency)",
    ),
}


def unsupported_steps(experiment: dict[str, Any], target_type: type, kind: str) -> list[str]:
    """The steps of `experiment` a target of `target_type` cannot run at all, one line each:
    known without a cluster, so `drills schedule` leaves such drills out."""
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    activities = [
        *(hypothesis.get("probes") or []),
        *(experiment.get("method") or []),
        *(experiment.get("rollbacks") or []),
    ]
    out: list[str] = []
    for activity in activities:
        provider = activity.get("provider") or {}
        need = NEEDS_CAPABILITY.get(f"{provider.get('module')}:{provider.get('func')}")
        if need is not None and not issubclass(target_type, need[0]):
            line = f"{activity.get('name')}: the {kind} target cannot {need[1]}"
            if line not in out:
                out.append(line)
    return out


def kubernetes_cannot_run(path: Path) -> list[str]:
    """The steps of the experiment in `path` that no Kubernetes target can run (see above)."""
    from drills.targets.kubernetes.driver import KubernetesTarget
    from drills.yamlfiles import load_mapping

    experiment = load_mapping(path, "experiment")
    return unsupported_steps(experiment, KubernetesTarget, "kubernetes")


@dataclass(frozen=True)
class PlannedStep:
    section: str  # "steady state" | "method" | "rollbacks"
    kind: str  # "probe" | "action"
    name: str
    fault: bool = False
    lines: tuple[str, ...] = ()
    failure: str | None = None


@dataclass
class DryRun:
    title: str
    target: str
    steps: list[PlannedStep] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # objects and RBAC, before any step
    reviews: int = 0

    @property
    def failures(self) -> list[str]:
        steps = [f"{s.section} {s.name}: {s.failure}" for s in self.steps if s.failure]
        return [*self.problems, *steps]

    def render(self) -> str:
        out = [
            f"Drill plan: {self.title} (dry run: nothing is changed)",
            f"  target: {self.target}",
        ]
        out.append("  preflight (objects, containers, RBAC verbs):")
        out += [f"    would fail: {p}" for p in self.problems] or ["    ok"]
        section = None
        for step in self.steps:
            if step.section != section:
                section = step.section
                out.append(f"  {section}:")
            mark = "  [fault]" if step.fault else ""
            out.append(f"    - {step.kind}: {step.name}{mark}")
            out += [f"        {line}" for line in step.lines]
            if step.failure:
                out.append(f"        would fail: {step.failure}")
        out.append(
            f"  {self.reviews} permissions checked with SelfSubjectAccessReview "
            "(POSTs that change nothing; every other request sent was a read)"
        )
        failed = self.failures
        out.append(
            f"  {len(failed)} problem(s): the drill would not run as planned"
            if failed
            else "  every step can run"
        )
        return "\n".join(out)


def plan_experiment(
    experiment: dict[str, Any], target: Any, spec_text: str, *, steady_state: bool = True
) -> DryRun:
    """The plan of `experiment` on a dry-run Kubernetes driver registered as `spec_text`."""
    from chaoslib import substitute
    from chaoslib.configuration import load_configuration

    from drills.targets import registry

    configuration = load_configuration(dict(experiment.get("configuration") or {}))
    configuration[registry.CONFIG_KEY] = spec_text
    plan = DryRun(
        experiment.get("title", "?"),
        f"{spec_text} (kubernetes, namespace {target.gateway.namespace})",
    )
    plan.problems += target.object_problems()
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    sections = [
        ("steady state", hypothesis.get("probes") or [] if steady_state else []),
        ("method", experiment.get("method") or []),
        ("rollbacks", experiment.get("rollbacks") or []),
    ]
    with _quiet_chaostoolkit():
        for section, activities in sections:
            for activity in activities:
                args = substitute(
                    dict((activity.get("provider") or {}).get("arguments") or {}), configuration, {}
                )
                plan.steps.append(_step(section, activity, args, target, configuration))
    problems, plan.reviews = target.access_problems(target.plan())
    plan.problems += problems
    return plan


def blocking_problems(experiment: dict[str, Any], target: Any, spec_text: str) -> list[str]:
    """A real run's preflight: what would fail, the steady state aside (it is checked live)."""
    return plan_experiment(experiment, target, spec_text, steady_state=False).failures


def _step(
    section: str, activity: dict[str, Any], args: Args, target: Any, configuration: Any
) -> PlannedStep:
    from chaoslib.activity import run_activity
    from chaoslib.hypothesis import within_tolerance

    provider = activity.get("provider") or {}
    key = f"{provider.get('module')}:{provider.get('func')}"
    kind = str(activity.get("type", "action"))
    name = str(activity.get("name", key))
    fault = "fault" in (activity.get("tags") or [])
    step = _Step(section, kind, name, fault)
    need = NEEDS_CAPABILITY.get(key)
    if need is not None and not isinstance(target, need[0]):
        step.failure = f"the {target.kind} target cannot {need[1]}"
        return step.done()
    if key == "drills.actions.connections:break_database_connections":
        key = _connection_fault_kind(args, target, step)
    if key in DRIVER_STEPS:
        done = len(target.plan())
        step.run(lambda: run_activity(activity, configuration, {}))
        planned = [call.render() for call in target.plan()[done:]]
        step.lines += planned or ([] if step.failure else ["(no change needed)"])
    elif key in DESCRIBED:
        lines, failure = DESCRIBED[key](args, target)
        step.lines += lines
        step.failure = step.failure or failure
    elif key.startswith("drills.probes.") and section == "steady state":
        value = step.run(lambda: run_activity(activity, configuration, {}))
        tolerance = activity.get("tolerance")
        if step.failure is None and not within_tolerance(tolerance, value, configuration, {}):
            step.failure = f"steady state does not hold: got {value!r}, expected {tolerance!r}"
        step.lines.append(f"read now: {value!r}")
    elif key.startswith("drills.probes."):
        step.lines.append("reads only (run after the fault in the real drill)")
    elif not step.failure:
        step.failure = f"{key} is not a step the dry run knows how to plan"
    return step.done()


class _Step:
    def __init__(self, section: str, kind: str, name: str, fault: bool) -> None:
        self.section, self.kind, self.name, self.fault = section, kind, name, fault
        self.lines: list[str] = []
        self.failure: str | None = None

    def run(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:  # ActivityFailed, driver errors: the plan says why, and goes on
            text = str(exc).strip().removeprefix("chaoslib.exceptions.ActivityFailed: ")
            self.failure = text.splitlines()[0] if text else repr(exc)
            return None

    def done(self) -> PlannedStep:
        return PlannedStep(
            self.section, self.kind, self.name, self.fault, tuple(self.lines), self.failure
        )


def _connection_fault_kind(args: Args, target: Any, step: _Step) -> str:
    fault = str(args.get("fault", "blackhole"))
    if fault in NETWORK_FAULTS:
        return "drills.actions.connections:break_database_connections:network"
    from drills.targets.base import TableLockFaults

    if not isinstance(target, TableLockFaults):
        step.failure = f"the kubernetes driver cannot hold PostgreSQL table locks ({fault})"
    else:  # pragma: no cover - no Kubernetes driver holds locks today
        step.lines.append(f"would hold table locks ({fault}) and start a client crowd")
    return "described-elsewhere"


def _url(target: Any) -> str:
    return str(target.control_plane_url)


def _conninfo_failure(target: Any) -> str | None:
    if any(s.kind is SignalKind.POSTGRES for s in target.signals()):
        return None
    return "the profile has no database.conninfo: PostgreSQL cannot be reached with SQL"


def _job_failure(target: Any, purpose: str) -> str | None:
    if target.profile.jobs.get(purpose) is None:
        return f"the profile has no jobs.{purpose} template"
    return None


def _network_fault(args: Args, target: Any) -> tuple[list[str], str | None]:
    from drills.targets.base import Component, NetworkFault

    fault = NetworkFault(str(args.get("fault", "blackhole")))
    try:
        store = Component(str(args.get("store", "postgres")))
        target.set_network_fault(store, fault, int(args.get("latency_ms", 800)))
    except ValueError:
        return [], f"unknown database {args.get('store')!r} to break"
    except DrillError as exc:
        return [], str(exc)
    return [call.render() for call in target.plan()[-1:]], None


def _graph_failure(target: Any) -> str | None:
    from drills.targets.kubernetes.graph import graph_pod

    try:
        graph_pod(target.profile)
    except DrillError as exc:
        return str(exc)
    return None


def _graph_pod(target: Any) -> str:
    from drills.targets.kubernetes.graph import graph_pod

    return graph_pod(target.profile)[0] if _graph_failure(target) is None else "?"


def _breakers(action: str) -> Describer:
    def describe(args: Args, target: Any) -> tuple[list[str], str | None]:
        path = _url(target) + paths.CIRCUIT_BREAKERS
        return [f"on each control-plane replica: {action} (GET {path})"], None

    return describe


class _Arguments(dict[str, Any]):
    """A step's arguments for a sentence template; an argument the step leaves out is None."""

    def __missing__(self, key: str) -> Any:
        return None


def _says(template: str) -> Describer:
    """A step described by one sentence: `{name}` is the step's argument, `{url}` the service's."""

    def describe(args: Args, target: Any) -> tuple[list[str], str | None]:
        return [template.format_map(_Arguments({**args, "url": _url(target)}))], None

    return describe


DESCRIBED: dict[str, Describer] = {
    "drills.actions.connections:break_database_connections:network": _network_fault,
    "described-elsewhere": lambda args, target: ([], None),
    "drills.actions.monitoring:prepare_alert_drill": _says(
        "would check the profile's Prometheus runs a rule for every runbook condition and "
        "send steady traffic to GET {url}/health"
    ),
    "drills.actions.monitoring:inject_alert_fault": _says(
        "would cause the alert condition {condition!r}"
    ),
    "drills.actions.monitoring:await_alert": _says(
        "would wait for the alert of {condition!r} (Prometheus, Alertmanager)"
    ),
    "drills.actions.monitoring:recover_alert_fault": _says("would undo the fault of {condition!r}"),
    "drills.actions.monitoring:await_alert_resolved": _says(
        "would wait for the alert of {condition!r} to resolve"
    ),
    "drills.actions.monitoring:finish_alert_drill": _says("would stop the traffic"),
    "drills.actions.monitoring:abandon_alert_drill": _says(
        "would undo any fault still in force and stop the traffic"
    ),
    "drills.actions.components:wait_until_healthy": lambda args, target: (
        [
            f"would wait up to {args.get('timeout_seconds', 120)} s for every replica to answer "
            f"GET {_url(target)}{paths.HEALTH} and POST {_url(target)}{paths.GRAPHQL} "
            "{ healthCheck }"
        ],
        None,
    ),
    "drills.actions.breakers:assert_breaker_opens": lambda args, target: (
        [
            f"would call GET {_url(target)}{paths.HEALTH} on each replica until the "
            f"{args.get('name', 'postgres')} breaker is OPEN (at most its fail_max calls)"
        ],
        None,
    ),
    "drills.actions.breakers:assert_breaker_resets": lambda args, target: (
        [
            f"would POST {_url(target)}{paths.breaker_reset(args.get('name', 'postgres'))} "
            "on each replica"
        ],
        None,
    ),
    "drills.actions.breakers:assert_breaker_half_opens": _breakers("wait for HALF-OPEN"),
    "drills.actions.breakers:assert_breaker_closes": _breakers("wait for CLOSED"),
    "drills.actions.breakers:wait_for_breakers_closed": _breakers(
        "wait until every breaker is CLOSED"
    ),
    "drills.actions.service:watch_circuit_breakers": _breakers(
        "poll breaker states in the background"
    ),
    "drills.actions.service:stop_watching_circuit_breakers": _says(
        "would stop polling breaker states"
    ),
    "drills.actions.service:reset_circuit_breaker": lambda args, target: (
        [
            f"would POST {_url(target)}{paths.breaker_reset(args.get('name', 'postgres'))} "
            "on each replica"
        ],
        None,
    ),
    "drills.actions.flood:start_flood": lambda args, target: (
        [
            f"would send up to {args.get('max_requests')} {args.get('method', 'GET')} "
            f"{_url(target)}{args.get('path', '/')} from {', '.join(args.get('sources') or [])} "
            f"({args.get('connections')} connections, at most {args.get('rate_per_second')}/s, "
            f"at most {args.get('max_seconds')} s)"
        ],
        None,
    ),
    "drills.actions.flood:stop_flood": _says("would stop the flood"),
    "drills.actions.database:record_business_runs": lambda args, target: (
        [f"would POST {_url(target)}{paths.RUNS} {2 * int(args.get('count', 20))} times"],
        None,
    ),
    "drills.actions.database:corrupt_recent_rows": lambda args, target: (
        [
            "would run SQL through database.conninfo: UPDATE and DELETE the newest "
            f"{args.get('canary_rows', 100)} canary_records and {args.get('runs_rows', 10)} runs"
        ],
        _conninfo_failure(target),
    ),
    "drills.actions.database:integrity_alert": lambda args, target: (
        ["would run the integrity check (SQL reads), then apply the maintenance manifest"],
        _conninfo_failure(target),
    ),
    "drills.actions.database:verify_backup": lambda args, target: (
        ["would run the jobs.verify Job for the newest backup (the one this drill takes)"],
        _job_failure(target, "verify"),
    ),
    "drills.actions.database:restore_point_in_time": lambda args, target: (
        [
            "would run the jobs.restore Job with DRILLS_TARGET_TIME = the last known good "
            f"time ({args.get('target_time', 'last-known-good')}, read after the fault)"
        ],
        _job_failure(target, "restore") or _conninfo_failure(target),
    ),
    "drills.actions.database:restore_redis_snapshot": lambda args, target: (
        ["would run the jobs.restore Job for the Redis snapshot this drill takes"],
        _job_failure(target, "restore"),
    ),
    "drills.actions.database:validate_restored_data": lambda args, target: (
        ["would check every row's checksum (SQL reads)"],
        _conninfo_failure(target),
    ),
    "drills.actions.database:verify_read_path": lambda args, target: (
        [f"would GET {_url(target)}{paths.RUNS} until the restored runs read back intact"],
        None,
    ),
    "drills.actions.graph:corrupt_recent_nodes": lambda args, target: (
        [
            f"would run cypher-shell in pod {_graph_pod(target)}: DELETE and SET the newest "
            f"{args.get('nodes', 100)} CanaryRecord nodes"
        ],
        _graph_failure(target),
    ),
    "drills.actions.graph:restore_graph_snapshot": lambda args, target: (
        [
            "would run the jobs.restore_neo4j Job with DRILLS_BACKUP_ID = "
            f"{args.get('backup_id', 'last-known-good')} (chosen after the fault)"
        ],
        _job_failure(target, "restore_neo4j"),
    ),
    "drills.actions.graph:validate_restored_graph": lambda args, target: (
        [f"would check every CanaryRecord node's checksum (cypher-shell in {_graph_pod(target)})"],
        _graph_failure(target),
    ),
    "drills.probes.database:last_known_good_time": lambda args, target: (
        ["reads the newest corrupt row's time (only meaningful after the fault)"],
        _conninfo_failure(target),
    ),
}


@contextmanager
def _quiet_chaostoolkit() -> Iterator[None]:
    """Chaos Toolkit logs each activity it runs; a plan prints its own lines instead."""
    logger = logging.getLogger("chaostoolkit")
    saved = (logger.level, logger.propagate)
    logger.setLevel(logging.CRITICAL)
    logger.propagate = False
    try:
        yield
    finally:
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
