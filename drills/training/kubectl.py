"""`kubectl` in the training shell: the runbook's kubectl commands, acted out on the sandbox.

The command is read by the runbook reader's own parser (`drills.runbook.commands`), its objects
mapped to the sandbox's components by the runbook's names (`drills.runbook.names`), and carried out
by the same actions and probes a drill uses (`drills.actions.components`, `drills.actions.service`,
`drills.probes.target`). Output imitates kubectl's; what the sandbox does not have (Services, Ingress,
nodes, Neo4j, the ingress controller) is said plainly, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaoslib.exceptions import ActivityFailed

from drills.runbook.names import LABELS, OBJECTS, component_of, foreign
from drills.runbook.sandbox_names import ABSENT_KINDS
from drills.runbook.steps import KubectlStep
from drills.targets.base import Component
from drills.training.output import Out, ShimFailure

__all__ = ["run_kubectl"]

# The runbook's Kubernetes name of each sandbox component, and its pods' names.
_WORKLOAD: dict[Component, str] = {}
for (_kind, _name), _component in OBJECTS.items():
    _WORKLOAD.setdefault(_component, f"{_kind}/{_name}")  # the first: the workload, not its pod
_POD_PREFIX = {
    Component.CONTROL_PLANE: "maestro-control-plane",
    Component.POSTGRES: "postgresql",
    Component.POSTGRES_STANDBY: "postgresql-standby",
    Component.REDIS: "redis",
    Component.NEO4J: "neo4j",  # statefulset/neo4j's pod, neo4j-0, as the runbook names it
}
_STATUS = {"running": "Running", "degraded": "Running", "stopped": "CrashLoopBackOff"}
MAINTENANCE_FILE_WORD = "maintenance-mode"


def _config(target_key: str) -> dict[str, Any]:
    from drills.targets.registry import CONFIG_KEY

    return {CONFIG_KEY: target_key}


def _components(step: KubectlStep) -> list[Component]:
    """The components a `get` names: by selector, by object, or every one of a kind."""
    if step.selector:
        found = {LABELS[term] for term in step.selector if term in LABELS}
        return sorted(found, key=list(Component).index)
    named = [
        OBJECTS[(r.kind, r.name)] for r in step.objects if r.name and (r.kind, r.name) in OBJECTS
    ]
    if named:
        return named
    kinds = {r.kind for r in step.objects}
    return [c for (kind, _), c in OBJECTS.items() if kind in kinds or "pod" in kinds]


def _age(seconds: float) -> str:
    return f"{int(seconds)}s" if seconds < 120 else f"{int(seconds // 60)}m"


def _get(step: KubectlStep, target_key: str, namespace: str, out: Out) -> int:
    from drills.probes.target import target_status

    kinds = {ref.kind for ref in step.objects}
    absent = sorted(ABSENT_KINDS[k] for k in kinds if k in ABSENT_KINDS)
    why = foreign(step.selector_text or "") or foreign(namespace)
    if why or (absent and not kinds & {"pod", "deployment", "statefulset"}):
        out.say(f"No resources found in {namespace} namespace.")
        out.note(f"the sandbox has no {why}" if why else "; ".join(absent))
        return 0
    components = _components(step)
    if not components:
        out.say(f"No resources found in {namespace} namespace.")
        return 0
    status = target_status(_config(target_key))["components"]
    if "pod" in kinds or step.selector:
        out.say(f"{'NAME':<34}{'READY':<8}{'STATUS':<18}{'PID':<10}")
        for component in dict.fromkeys(components):
            info = status.get(component.value) or {}
            pids = info.get("pids") or []
            state = _STATUS.get(str(info.get("state")), str(info.get("state")))
            pods = max(int(info.get("replicas") or 1), len(pids))
            for index in range(pods if component is Component.CONTROL_PLANE else 1):
                pid = pids[index] if index < len(pids) else None
                ready, shown = ("1/1", "Running") if pid else ("0/1", state)
                name = f"{_POD_PREFIX.get(component, component.value)}-{index}"
                out.say(f"{name:<34}{ready:<8}{shown:<18}{pid or '-'!s:<10}")
        return 0
    out.say(f"{'NAME':<44}{'READY':<8}")
    for component in dict.fromkeys(components):
        info = status.get(component.value) or {}
        live, wanted = len(info.get("pids") or []), int(info.get("replicas") or 1)
        out.say(f"{_WORKLOAD[component]:<44}{f'{live}/{wanted}':<8}")
    return 0


def _one_component(step: KubectlStep, what: str) -> Component:
    component = component_of(step)
    if component is not None:
        return component
    named = " ".join(str(r) for r in step.objects) or (step.selector_text or "")
    why = foreign(named)
    if why:
        raise ShimFailure(f"the sandbox has no {why}: nothing to {what} for {named}")
    known = ", ".join(sorted(f"{kind}/{name}" for kind, name in OBJECTS))
    raise ShimFailure(f"{named or 'no object'} is not on the sandbox (it has: {known})")


def _rollout(step: KubectlStep, target_key: str, out: Out) -> int:
    from drills.actions.components import restart_component
    from drills.targets.registry import target_from

    component = _one_component(step, f"rollout {step.subverb}")
    name = str(step.objects[0]) if step.objects else _WORKLOAD[component]
    if step.subverb == "restart":
        try:
            restart_component(component.value, configuration=_config(target_key))
        except ActivityFailed as exc:
            status = target_from(_config(target_key)).status()["components"]
            if not (status.get(component.value) or {}).get("pids"):
                raise
            out.say(f"{name} restarted")
            out.note(f"restarted, but not ready yet: {exc}")  # as its pods would be
            return 0
        out.say(f"{name} restarted")
        return 0
    if step.subverb == "status":
        target_from(_config(target_key)).wait_ready(component, timeout_seconds=120.0)
        out.say(f'{name.split("/")[0]} "{name.split("/")[1]}" successfully rolled out')
        return 0
    raise ShimFailure(f"kubectl rollout {step.subverb} is not available on the sandbox")


def _scale(step: KubectlStep, target_key: str, out: Out) -> int:
    from drills.actions.components import scale_component

    component = _one_component(step, "scale")
    if step.replicas is None or not step.replicas.isdigit():
        raise ShimFailure("kubectl scale needs --replicas=N (a whole number)")
    scale_component(component.value, int(step.replicas), configuration=_config(target_key))
    out.say(f"{_WORKLOAD[component]} scaled")
    return 0


def _logs(step: KubectlStep, target_key: str, out: Out) -> int:
    from drills.probes.target import component_logs

    component = _one_component(step, "show logs")
    tail = next(
        (w.split("=", 1)[1] for w in step.argv if w.startswith("--tail=")),
        _after(step.argv, "--tail") or "100",
    )
    lines = int(tail) if tail.isdigit() else 100
    out.say(component_logs(component.value, lines, configuration=_config(target_key)).rstrip())
    if "-f" in step.argv or "--follow" in step.argv:
        out.note("following logs is not available in the training shell; shown the tail")
    return 0


def _after(argv: tuple[str, ...], flag: str) -> str | None:
    return next((argv[i + 1] for i, w in enumerate(argv[:-1]) if w == flag), None)


def _maintenance(step: KubectlStep, target_key: str, out: Out, enabled: bool) -> int:
    from drills.actions.service import set_maintenance

    if not any(MAINTENANCE_FILE_WORD in f for f in step.files):
        what = ", ".join(step.files) or "an inline manifest"
        raise ShimFailure(
            f"kubectl {step.verb} of {what} is not available on the sandbox "
            f"(it maps only the runbook's {MAINTENANCE_FILE_WORD}.yaml)"
        )
    set_maintenance(enabled, configuration=_config(target_key))
    out.say(f"configmap/maintenance-mode {'created' if enabled else 'deleted'}")
    out.note(
        "maintenance mode is on: writes are refused (`kubectl delete -f FILE` ends it)"
        if enabled
        else "maintenance mode is off"
    )
    return 0


def _exec(step: KubectlStep, target_key: str, out: Out) -> int:
    from drills.probes.database import connect

    command = list(step.exec_command)
    if not command or command[0] != "psql" or "-c" not in command:
        raise ShimFailure("kubectl exec runs only `psql ... -c SQL` on postgresql-0 here")
    if _one_component(step, "exec") is not Component.POSTGRES:
        raise ShimFailure("kubectl exec runs psql only on postgresql-0 here")
    sql = command[command.index("-c") + 1]
    with connect(_config(target_key)) as conn, conn.cursor() as cursor:
        cursor.execute(sql)
        if cursor.description is not None:
            out.say(" | ".join(col.name for col in cursor.description))
            rows = cursor.fetchall()
            for row in rows:
                out.say(" | ".join(str(value) for value in row))
            out.say(f"({len(rows)} rows)")
    return 0


def run_kubectl(step: KubectlStep, target_key: str, default_namespace: str, out: Out) -> int:
    """Carry out one kubectl command on the sandbox; its exit status."""
    namespace = step.namespace or default_namespace
    if step.verb == "get":
        return _get(step, target_key, namespace, out)
    if foreign(namespace):
        raise ShimFailure(f"the sandbox has no {foreign(namespace)} (namespace {namespace})")
    handlers: dict[str, Callable[[], int]] = {
        "rollout": lambda: _rollout(step, target_key, out),
        "scale": lambda: _scale(step, target_key, out),
        "logs": lambda: _logs(step, target_key, out),
        "apply": lambda: _maintenance(step, target_key, out, enabled=True),
        "delete": lambda: _maintenance(step, target_key, out, enabled=False),
        "exec": lambda: _exec(step, target_key, out),
    }
    handler = handlers.get(step.verb)
    if handler is None:
        supported = ", ".join(["get", *handlers])
        raise ShimFailure(
            f"kubectl {step.verb} is not available on the sandbox (supported: {supported})"
        )
    try:
        return handler()
    except ActivityFailed as exc:
        raise ShimFailure(str(exc)) from exc
