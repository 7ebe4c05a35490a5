"""Knowing when a workload is back, from the cluster's own records, by watching (never sleeping).

Two questions, both answered from watch streams:

- *Is the rollout complete?* The same rules as `kubectl rollout status` (observed generation,
  updated / available / ready replicas, revisions), evaluated on every event of the object.
- *When did each pod become Ready?* The pod's `Ready` condition carries `lastTransitionTime`, set
  by the kubelet: the recovery instant on the cluster's clock, independent of how often anybody
  polls. Kubernetes stores it with one-second resolution; terminations (a pod losing readiness by
  being deleted) carry no such stamp and are timed when the watch delivers them (milliseconds).

`readiness_samples()` turns the transitions into `drills.models.Sample`s on the run's clock
(signal `pods-ready:<component>`), so the engine merges them into the timeline like any signal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from drills.clock import RunClock
from drills.errors import TargetError
from drills.models import Sample
from drills.targets.kubernetes.gateway import Gateway, JsonObject
from drills.targets.kubernetes.profile import WorkloadKind
from drills.targets.kubernetes.resources import PODS, Resource

__all__ = [
    "ReadinessTransition",
    "RolloutState",
    "RolloutStatus",
    "labels_match",
    "parse_time",
    "pod_ready",
    "readiness_samples",
    "rollout_status",
    "selector_text",
    "wait_for_rollout",
    "watch_readiness",
]


class RolloutState(StrEnum):
    COMPLETE = "complete"
    PROGRESSING = "progressing"
    FAILED = "failed"


@dataclass(frozen=True)
class RolloutStatus:
    state: RolloutState
    message: str


def rollout_status(obj: JsonObject, kind: WorkloadKind, min_generation: int = 0) -> RolloutStatus:
    """Where a Deployment's or StatefulSet's rollout stands (kubectl's rules)."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    name = meta.get("name", "?")
    generation = max(int(meta.get("generation") or 0), min_generation)
    observed = int(status.get("observedGeneration") or 0)
    if observed < generation:
        return _progressing(f"waiting for the controller to observe generation {generation}")
    desired = int(spec.get("replicas", 1))
    if kind is WorkloadKind.DEPLOYMENT:
        return _deployment_status(name, desired, status)
    return _statefulset_status(name, desired, spec, status)


def _deployment_status(name: str, desired: int, status: JsonObject) -> RolloutStatus:
    for condition in status.get("conditions") or []:
        if (
            condition.get("type") == "Progressing"
            and condition.get("reason") == "ProgressDeadlineExceeded"
        ):
            return RolloutStatus(
                RolloutState.FAILED, f"deployment {name} exceeded its progress deadline"
            )
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < desired:
        return _progressing(f"{updated} of {desired} new replicas updated")
    if total > updated:
        return _progressing(f"{total - updated} old replicas pending termination")
    if available < updated:
        return _progressing(f"{available} of {updated} updated replicas available")
    return RolloutStatus(
        RolloutState.COMPLETE, f"deployment {name} rolled out ({available} available)"
    )


def _statefulset_status(
    name: str, desired: int, spec: JsonObject, status: JsonObject
) -> RolloutStatus:
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return RolloutStatus(
            RolloutState.FAILED,
            f"statefulset {name} uses updateStrategy {strategy.get('type')}: pods only change "
            "when deleted, so a rollout never completes on its own",
        )
    ready = int(status.get("readyReplicas") or 0)
    if ready < desired:
        return _progressing(f"{ready} of {desired} pods ready")
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
    if partition > 0:
        updated = int(status.get("updatedReplicas") or 0)
        if updated < desired - partition:
            return _progressing(f"{updated} of {desired - partition} pods updated")
    elif status.get("updateRevision") != status.get("currentRevision"):
        return _progressing(f"{int(status.get('updatedReplicas') or 0)} of {desired} pods updated")
    return RolloutStatus(RolloutState.COMPLETE, f"statefulset {name} rolled out ({ready} ready)")


def _progressing(message: str) -> RolloutStatus:
    return RolloutStatus(RolloutState.PROGRESSING, message)


def wait_for_rollout(
    gateway: Gateway,
    res: Resource,
    name: str,
    kind: WorkloadKind,
    *,
    min_generation: int = 0,
    timeout_seconds: float,
) -> float:
    """Watch the workload until its rollout completes; seconds waited. TargetError otherwise."""
    started = time.monotonic()
    if gateway.dry_run:
        gateway.plan_wait(res, name, "until the rollout completes")
        return 0.0
    last = "no status seen"
    for event in gateway.watch(
        res, field_selector=f"metadata.name={name}", timeout_seconds=timeout_seconds
    ):
        obj = event["object"]
        if (obj.get("metadata") or {}).get("name") != name:
            continue  # servers that ignore field selectors (and kmock) send every object
        if event["type"] == "DELETED":
            raise TargetError(f"{kind.value.lower()} {name} was deleted during its rollout")
        status = rollout_status(obj, kind, min_generation)
        last = status.message
        if status.state is RolloutState.COMPLETE:
            return time.monotonic() - started
        if status.state is RolloutState.FAILED:
            raise TargetError(status.message)
    raise TargetError(
        f"{kind.value.lower()} {name}: rollout not complete after {timeout_seconds:.0f} s ({last})"
    )


@dataclass(frozen=True)
class ReadinessTransition:
    """A pod became Ready or stopped being Ready (`deleted`: it is gone) at `at` (UTC)."""

    pod: str
    ready: bool
    at: datetime
    observed_at: datetime
    deleted: bool = False
    from_cluster_clock: bool = True


def parse_time(text: object) -> datetime | None:
    """An RFC 3339 timestamp from the API (`2024-01-15T10:00:00Z`), or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def pod_ready(pod: JsonObject) -> tuple[bool, datetime | None]:
    """(Ready?, when the Ready condition last changed) of a pod; terminating pods are not ready."""
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready":
            ready = condition.get("status") == "True"
            terminating = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
            return ready and not terminating, parse_time(condition.get("lastTransitionTime"))
    return False, None


def labels_match(obj: JsonObject, selector: Mapping[str, str]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(labels.get(key) == value for key, value in selector.items())


def selector_text(selector: Mapping[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(selector.items()))


def watch_readiness(
    gateway: Gateway,
    selector: Mapping[str, str],
    *,
    timeout_seconds: float,
    should_stop: Callable[[], bool] = lambda: False,
    known: dict[str, bool] | None = None,
    resource_version: str | None = None,
) -> Iterator[ReadinessTransition]:
    """Readiness changes of the pods matching `selector`.

    `known` (pod -> ready) and `resource_version` come from a list taken just before: only
    changes after it are reported. Without them, the current pods come first.
    """
    known = {} if known is None else known
    for event in gateway.watch(
        PODS,
        label_selector=selector_text(selector),
        timeout_seconds=timeout_seconds,
        resource_version=resource_version,
        should_stop=should_stop,
    ):
        pod = event["object"]
        if not labels_match(pod, selector):
            continue  # a server that ignores label selectors still must not mix components
        name = str((pod.get("metadata") or {}).get("name"))
        observed = datetime.now(UTC)
        if event["type"] == "DELETED":
            if known.pop(name, None) is not None:
                yield ReadinessTransition(name, False, observed, observed, True, False)
            continue
        ready, changed_at = pod_ready(pod)
        if known.get(name) == ready:
            continue
        known[name] = ready
        terminating = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
        if changed_at is None or terminating:
            yield ReadinessTransition(name, ready, observed, observed, from_cluster_clock=False)
        else:
            yield ReadinessTransition(name, ready, changed_at, observed)


def readiness_samples(
    gateway: Gateway,
    component: str,
    selector: Mapping[str, str],
    clock: RunClock,
    *,
    required: int,
    timeout_seconds: float,
    should_stop: Callable[[], bool] = lambda: False,
    critical: bool = True,
) -> Iterator[Sample]:
    """`pods-ready:<component>` samples: ok while at least `required` pods are Ready.

    The first sample is the baseline (a list, at the moment sampling starts); then one sample
    per readiness change, at the change's instant on the run clock (from the cluster's
    timestamp). Cluster stamps are whole seconds, so a stamp that would place a change before
    one already reported (or before the baseline) is moved up to it: the timeline stays
    ordered, and a recovery is never dated before the failure it ends.
    """
    signal = f"pods-ready:{component}"
    pods, version = gateway.list_with_version(PODS, label_selector=selector_text(selector))
    ready = {
        str((pod.get("metadata") or {}).get("name")): pod_ready(pod)[0]
        for pod in pods
        if labels_match(pod, selector)
    }
    started_t = clock.now()
    count = sum(ready.values())
    yield Sample(
        t=started_t,
        signal=signal,
        ok=count >= required,
        critical=critical,
        detail=f"{count}/{required} ready at the start",
    )
    last_t = started_t
    for change in watch_readiness(
        gateway,
        selector,
        timeout_seconds=timeout_seconds,
        should_stop=should_stop,
        known=ready,
        resource_version=version,
    ):
        count = sum(ready.values())
        last_t = max(clock.from_utc(change.at), last_t)
        yield Sample(
            t=last_t,
            signal=signal,
            ok=count >= required,
            critical=critical,
            detail=_detail(change, count, required),
        )


def _detail(change: ReadinessTransition, count: int, required: int) -> str:
    state = "deleted" if change.deleted else "Ready" if change.ready else "not ready"
    clock = "cluster clock" if change.from_cluster_clock else "watch time"
    text = f"{count}/{required} ready; {change.pod} {state} ({clock})"
    skew = (change.at - change.observed_at).total_seconds()
    if skew > 1.0:
        text += f"; cluster clock {skew:.1f} s ahead of the runner"
    return text
