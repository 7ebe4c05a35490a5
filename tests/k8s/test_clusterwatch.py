"""A Kubernetes drill's timeline gets the cluster's pod readiness; its run folder, the events."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from drills.clock import RunClock
from drills.clusterwatch import CLUSTER_FILE, ClusterWatch
from drills.models import Sample
from drills.targets.kubernetes.driver import KubernetesTarget
from tests.k8s import objects as o
from tests.k8s.kube_server import KubeServer

pytestmark = pytest.mark.k8s

READY = "pods-ready:control-plane"


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


def test_readiness_is_a_state_sampled_on_the_schedule_and_the_window_is_written(
    target: KubernetesTarget, cluster: KubeServer, tmp_path: Path
) -> None:
    target.gateway.watch_poll_seconds = 0.1
    clock = RunClock()
    samples: list[Sample] = []
    watch = ClusterWatch(target, clock, samples.append, interval_seconds=0.05)
    watch.start()

    def scheduled() -> list[Sample]:
        return [s for s in list(samples) if s.signal == READY]

    wait_for(lambda: len(scheduled()) >= 6)  # no event happened: the held state is sampled
    assert all(s.ok and s.critical for s in scheduled())
    cluster.send("DELETE", f"/api/v1/namespaces/{o.NS}/pods/maestro-control-plane-7d9f-a")
    wait_for(lambda: any("1/1 ready" in (s.detail or "") for s in scheduled()))
    assert all(s.ok for s in scheduled())  # one Ready pod left: degraded, not down
    before = len(scheduled())
    cluster.send("DELETE", f"/api/v1/namespaces/{o.NS}/pods/maestro-control-plane-7d9f-b")
    wait_for(lambda: len([s for s in scheduled()[before:] if not s.ok]) >= 4)
    path = watch.stop(tmp_path, 0.0, clock.now())

    assert watch.error is None
    after = scheduled()[before:]
    first_down = next(i for i, s in enumerate(after) if not s.ok)
    assert not any(s.ok for s in after[first_down:])  # the failure holds until a change
    times = [s.t for s in scheduled()]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert times == sorted(times) and max(gaps) < 0.5
    events = [s for s in samples if s.signal == "pod-events:control-plane"]
    assert events and not any(s.critical for s in events)  # evidence, never the recovery instant
    assert path == tmp_path / CLUSTER_FILE
    window = json.loads(path.read_text())
    assert "events" in window
