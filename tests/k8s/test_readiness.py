"""Recovery timestamps from the cluster: pod Ready transitions from a watch, on the run clock."""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from drills.clock import RunClock
from drills.models import Sample
from drills.targets.base import Component
from drills.targets.kubernetes.driver import KubernetesTarget
from drills.targets.kubernetes.profile import WorkloadKind
from drills.targets.kubernetes.readiness import RolloutState, pod_ready, rollout_status
from tests.k8s import objects as o
from tests.k8s.conftest import CONTROL_PLANE
from tests.k8s.kube_server import KubeServer, stamp

pytestmark = pytest.mark.k8s

PODS_PATH = f"/api/v1/namespaces/{o.NS}/pods"


class Collector:
    """Consumes readiness samples on a thread, as the engine's sampler would."""

    def __init__(self, target: KubernetesTarget, clock: RunClock) -> None:
        self.samples: list[Sample] = []
        self.stop = threading.Event()
        target.gateway.watch_poll_seconds = 0.1  # stop within 0.1 s (default: 2 s)
        self._thread = threading.Thread(target=self._run, args=(target, clock), daemon=True)
        self._thread.start()

    def _run(self, target: KubernetesTarget, clock: RunClock) -> None:
        for sample in target.readiness_samples(
            Component.CONTROL_PLANE, clock, timeout_seconds=10, should_stop=self.stop.is_set
        ):
            self.samples.append(sample)

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 5
        while len(self.samples) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(self.samples) >= count, self.samples

    def close(self) -> None:
        self.stop.set()
        self._thread.join(10)


def test_kill_and_recovery_are_timed_by_the_pods_ready_condition(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    # a run that began 10 s ago, so transitions "now" land well after its start
    clock = RunClock(datetime.now(UTC) - timedelta(seconds=10), time.monotonic_ns() - 10 * 10**9)
    collector = Collector(target, clock)
    try:
        collector.wait_for(1)  # the baseline
        cluster.send("DELETE", f"{PODS_PATH}/maestro-control-plane-7d9f-a")
        collector.wait_for(2)
        not_ready_at = datetime.now(UTC) - timedelta(seconds=5)  # a stamp older than the kill
        replacement = o.pod(
            "maestro-control-plane-7d9f-c", CONTROL_PLANE, ready=False, changed=stamp(not_ready_at)
        )
        cluster.send("POST", PODS_PATH, replacement)
        collector.wait_for(3)
        ready_at = datetime.now(UTC).replace(microsecond=0) + timedelta(
            seconds=1
        )  # kubelet's stamp
        condition = {"type": "Ready", "status": "True", "lastTransitionTime": stamp(ready_at)}
        cluster.send(
            "PATCH",
            f"{PODS_PATH}/maestro-control-plane-7d9f-c/status",
            {"status": {"conditions": [condition]}},
        )
        collector.wait_for(4)
    finally:
        collector.close()

    baseline, killed, created, recovered = collector.samples[:4]
    assert {s.signal for s in collector.samples} == {"pods-ready:control-plane"}
    assert [s.ok for s in collector.samples] == [True, False, False, True]
    assert baseline.detail == "2/2 ready at the start" and baseline.t == pytest.approx(10, abs=1)
    assert "maestro-control-plane-7d9f-a deleted (watch time)" in (killed.detail or "")
    assert created.t == killed.t  # a stamp older than what was seen is kept after it
    # the recovery instant is the kubelet's timestamp mapped onto the run clock, not our poll time
    assert recovered.t == pytest.approx(clock.from_utc(ready_at), abs=1e-6)
    assert recovered.detail == "2/2 ready; maestro-control-plane-7d9f-c Ready (cluster clock)"
    watch = [r for r in cluster.driver_requests() if r.params.get("watch") == "true"]
    assert watch[0].url.path == PODS_PATH
    assert watch[0].params["labelSelector"] == "app.kubernetes.io/name=maestro"


def test_a_transition_before_sampling_started_is_placed_at_the_start(
    target: KubernetesTarget, cluster: KubeServer
) -> None:
    clock = RunClock()
    collector = Collector(target, clock)
    try:
        collector.wait_for(1)
        old = o.pod("maestro-control-plane-7d9f-z", CONTROL_PLANE, changed="2020-01-01T00:00:00Z")
        cluster.send("POST", PODS_PATH, old)
        collector.wait_for(2)
    finally:
        collector.close()
    assert collector.samples[1].t == pytest.approx(collector.samples[0].t)
    assert collector.samples[1].t >= 0


def test_sampling_stops_promptly_when_asked(target: KubernetesTarget) -> None:
    collector = Collector(target, RunClock())
    collector.wait_for(1)
    started = time.monotonic()
    collector.close()
    assert time.monotonic() - started < 1.0  # one watch poll interval (0.1 s) and change


def deployment_status(**status: int) -> dict[str, object]:
    obj = o.deployment("d", {"a": "b"}, replicas=3)
    obj["metadata"]["generation"] = 4
    obj["status"] = status
    return obj


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (
            {"observedGeneration": 3, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3},
            RolloutState.PROGRESSING,
        ),
        (
            {"observedGeneration": 4, "updatedReplicas": 2, "replicas": 3, "availableReplicas": 3},
            RolloutState.PROGRESSING,
        ),
        (
            {"observedGeneration": 4, "updatedReplicas": 3, "replicas": 4, "availableReplicas": 3},
            RolloutState.PROGRESSING,
        ),
        (
            {"observedGeneration": 4, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 2},
            RolloutState.PROGRESSING,
        ),
        (
            {"observedGeneration": 4, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3},
            RolloutState.COMPLETE,
        ),
    ],
)
def test_deployment_rollout_rules_match_kubectl(
    status: dict[str, int], state: RolloutState
) -> None:
    assert rollout_status(deployment_status(**status), WorkloadKind.DEPLOYMENT).state is state


def test_progress_deadline_exceeded_is_a_failed_rollout() -> None:
    obj = deployment_status(observedGeneration=4)
    obj["status"]["conditions"] = [  # type: ignore[index]
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
    ]
    assert rollout_status(obj, WorkloadKind.DEPLOYMENT).state is RolloutState.FAILED


def test_min_generation_guards_against_a_stale_status() -> None:
    obj = deployment_status(
        observedGeneration=4, updatedReplicas=3, replicas=3, availableReplicas=3
    )
    assert (
        rollout_status(obj, WorkloadKind.DEPLOYMENT, min_generation=5).state
        is RolloutState.PROGRESSING
    )


def test_statefulset_partition_counts_only_the_partitioned_pods() -> None:
    obj = o.statefulset("s", {"a": "b"}, replicas=3)
    obj["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    obj["status"] = {"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1,
                     "currentRevision": "a", "updateRevision": "b"}  # fmt: skip
    assert rollout_status(obj, WorkloadKind.STATEFULSET).state is RolloutState.COMPLETE


def test_terminating_pod_is_not_ready() -> None:
    pod = o.pod("p", {"a": "b"})
    assert pod_ready(pod)[0] is True
    pod["metadata"]["deletionTimestamp"] = "2024-01-15T10:00:30Z"
    ready, changed = pod_ready(pod)
    assert ready is False and changed is not None and not math.isnan(changed.timestamp())
