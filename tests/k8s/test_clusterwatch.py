"""A Kubernetes drill's timeline gets the cluster's pod readiness; its run folder, the events."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from drills.clock import RunClock
from drills.clusterwatch import CLUSTER_FILE, ClusterWatch
from drills.models import Sample
from drills.targets.kubernetes.driver import KubernetesTarget
from tests.k8s import objects as o
from tests.k8s.kube_server import KubeServer

pytestmark = pytest.mark.k8s


def test_readiness_joins_the_timeline_and_the_window_is_written(
    target: KubernetesTarget, cluster: KubeServer, tmp_path: Path
) -> None:
    target.gateway.watch_poll_seconds = 0.1
    clock = RunClock()
    samples: list[Sample] = []
    watch = ClusterWatch(target, clock, samples.append)
    watch.start()
    deadline = time.monotonic() + 5
    while not samples and time.monotonic() < deadline:
        time.sleep(0.01)
    cluster.send("DELETE", f"/api/v1/namespaces/{o.NS}/pods/maestro-control-plane-7d9f-a")
    deadline = time.monotonic() + 5
    while len(samples) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    path = watch.stop(tmp_path, 0.0, clock.now())
    assert watch.error is None
    assert [s.signal for s in samples[:2]] == ["pods-ready:control-plane"] * 2
    assert samples[0].ok and not samples[1].ok and samples[1].critical
    assert path == tmp_path / CLUSTER_FILE
    window = json.loads(path.read_text())
    assert "events" in window
