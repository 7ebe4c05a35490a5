"""Breaker-open time across replicas, replica fan-out, and measurements reported by activities.

A small real HTTP server plays two replicas (it answers as replica 0 or 1 alternately) whose
breaker states the test scripts over time, so the expected open time is known.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from drills.activity_measurements import REPORT_KEY, reported_measurements, with_reported
from drills.breakerwatch import BreakerWatch
from drills.controlplane.connection import Endpoint
from drills.controlplane.every_replica import PinnedClient, ask_every_replica
from drills.errors import TargetError
from drills.models import Measurements
from tests.loopback import QuietHandler, serving

States = Callable[[str, float], str]  # (replica, seconds since start) -> postgres breaker state


@contextlib.contextmanager
def replicas_server(states: States, replicas: int = 2) -> Iterator[str]:
    started = time.monotonic()
    turn = itertools.count()
    lock = threading.Lock()

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            # One replica per connection, as SO_REUSEPORT does: chosen when the connection opens.
            replica = getattr(self, "replica", None)
            if replica is None:
                with lock:
                    replica = str(next(turn) % replicas)
                self.replica = replica
            state = states(replica, time.monotonic() - started)
            self.answer(
                200,
                {
                    "replica": int(replica),
                    "breakers": {"postgres": state},
                    "resilience": {
                        "breakers": {"postgres": {"state": state}, "redis": {"state": "closed"}},
                        "pool": {"in_use": 8 if state == "open" else 1, "capacity": 8},
                    },
                },
            )

    with serving(Handler) as url:
        yield url


def test_open_time_counts_a_breaker_open_on_any_one_replica() -> None:
    # Replica 1 is open from 0.3 s to 1.1 s; replica 0 never: 0.8 s with a breaker OPEN.
    def states(replica: str, t: float) -> str:
        return "open" if replica == "1" and 0.3 <= t < 1.1 else "closed"

    with replicas_server(states) as url:
        watch = BreakerWatch(Endpoint(url), interval_seconds=0.02)
        watch.start()
        time.sleep(1.6)
        result = watch.stop()
    assert result.open_seconds == pytest.approx(0.8, abs=0.15)
    assert result.open_seconds_by_breaker == {"postgres": pytest.approx(0.8, abs=0.15)}
    assert sorted(result.replicas_seen) == ["0", "1"]
    assert result.first_open_after_seconds == pytest.approx(0.3, abs=0.15)
    assert result.pool_peak_in_use == 8
    assert result.failed_polls == 0


def test_a_replica_that_stops_answering_no_longer_counts() -> None:
    with replicas_server(lambda replica, t: "open") as url:
        watch = BreakerWatch(Endpoint(url), interval_seconds=0.02, stale_seconds=0.3)
        watch.start()
        time.sleep(0.5)
    # The server is gone: every poll fails from now on, the stale OPEN state expires.
    time.sleep(0.8)
    result = watch.stop()
    assert result.failed_polls > 0
    assert result.open_seconds == pytest.approx(0.5 + 0.3, abs=0.2)


def test_ask_every_replica_and_pinned_connections_reach_each_replica() -> None:
    with replicas_server(lambda replica, t: "closed", replicas=3) as url:
        endpoint = Endpoint(url)
        answers = ask_every_replica(endpoint, "GET", "/api/resilience/health", 3)
        assert sorted(answers) == ["0", "1", "2"]
        client = PinnedClient(endpoint, 3)
        try:
            for replica in client.replicas:
                for _ in range(3):  # every request on a pinned connection reaches its replica
                    assert client.ask(replica, "GET", "/x").replica == replica
        finally:
            client.close()
        with pytest.raises(TargetError, match="3 of 4 replicas"):
            ask_every_replica(endpoint, "GET", "/x", 4, timeout_seconds=0.5)


def test_activities_report_measurements_through_the_journal() -> None:
    journal = {
        "run": [
            {"output": "not a mapping"},
            {"output": {REPORT_KEY: {"breaker_open_seconds": 1.5, "flood_requests": 10}}},
            {"output": {REPORT_KEY: {"rto_seconds": 1.0, "bad": [1], "nan": float("nan")}}},
        ],
        "rollbacks": [{"output": {REPORT_KEY: {"flood_requests": 12, "note": "ok"}}}],
    }
    found = reported_measurements(journal)
    assert found == {"breaker_open_seconds": 1.5, "flood_requests": 12, "note": "ok"}
    base = Measurements(
        fault_at=1.0,
        detected_at=None,
        recovered_at=None,
        rto_seconds=None,
        time_to_detect_seconds=None,
        downtime_seconds=None,
        rpo_seconds=None,
        writes_acknowledged=None,
        writes_failed=None,
        writes_lost=None,
        writes_lost_after_fault=None,
        writes_corrupted=None,
        resolution_seconds=None,
        extra={"kept": 1},
    )
    merged = with_reported(base, journal)
    assert merged.extra == {"kept": 1, **found}
    assert with_reported(base, {}) is base
