"""Pool use read from the metrics endpoint: the steady-state peak is what the objective judges."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from drills.clock import RunClock
from drills.controlplane.connection import Endpoint, Reply
from drills.poolwatch import PoolWatch, peak_before, utilisation
from tests.loopback import QuietHandler, serving


def pool_answer(in_use: int, capacity: int) -> dict[str, Any]:
    return {"resilience": {"pool": {"in_use": in_use, "capacity": capacity}}}


def metrics(in_use: int, capacity: int) -> bytes:
    return json.dumps(pool_answer(in_use, capacity)).encode()


def test_utilisation_reads_the_runbook_endpoint_shape() -> None:
    assert utilisation(Reply(200, metrics(6, 8))) == 0.75
    assert utilisation(Reply(200, metrics(1, 0))) is None
    assert utilisation(Reply(503, metrics(6, 8))) is None
    assert utilisation(Reply(200, b"{}")) is None
    assert utilisation(Reply(200, b"not json")) is None


def test_peak_counts_only_the_steady_phase() -> None:
    readings = [(0.5, 0.25), (1.5, 0.5), (3.0, 1.0)]  # the fault at 2.0 exhausts the pool
    assert peak_before(readings, 2.0) == 0.5
    assert peak_before(readings, None) == 1.0
    assert peak_before([], 2.0) is None


@pytest.fixture
def service() -> Iterator[tuple[str, list[int]]]:
    in_use = [2]

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self.answer(200, pool_answer(in_use[0], 8))

    with serving(Handler) as url:
        yield url, in_use


def test_the_watch_polls_a_real_endpoint(service: tuple[str, list[int]]) -> None:
    url, in_use = service
    watch = PoolWatch(Endpoint(url), RunClock(), interval_seconds=0.02)
    watch.start()
    time.sleep(0.2)
    in_use[0] = 7
    time.sleep(0.2)
    readings = watch.stop()
    values = {u for _, u in readings}
    assert {0.25, 0.875} <= values
    assert all(a[0] < b[0] for a, b in itertools.pairwise(readings))
