"""The bounded flood: loopback only, stops at its caps, really sends from several addresses."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from drills.errors import InputError
from drills.flood import MAX_SECONDS, FloodPlan, FloodProcess
from tests.loopback import QuietHandler, serving


@contextlib.contextmanager
def server() -> Iterator[tuple[str, Counter[str]]]:
    """A loopback server counting requests by source address; 127.0.0.12 is answered 429."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()  # `seen[a] += 1` is a read then a write: two connections may race

    class Counting(QuietHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            self.request_body()
            with lock:
                seen[self.client_address[0]] += 1
            code = 429 if self.client_address[0] == "127.0.0.12" else 200
            self.answer(code, {"ok": code == 200})

        do_GET = do_POST = _answer

    with serving(Counting) as url:
        yield url, seen


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": "http://10.0.0.5:8080"}, "not a loopback"),
        ({"url": "http://8.8.8.8:80"}, "not a loopback"),
        ({"url": "http://localhost:80"}, "not an IP"),
        ({"url": "ftp://127.0.0.1:21"}, r"http\(s\)://"),
        ({"sources": ("127.0.0.11", "192.168.1.9")}, "not a loopback"),
        ({"sources": ()}, "at least one source"),
        ({"max_seconds": MAX_SECONDS + 1}, "max_seconds"),
        ({"max_requests": 0}, "max_requests"),
        ({"connections": 10_000}, "connections"),
        ({"rate_per_second": float("inf")}, "rate_per_second"),
    ],
)
def test_plans_outside_loopback_or_the_caps_are_refused(
    changes: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {"url": "http://127.0.0.1:8080", **changes}
    with pytest.raises(InputError, match=message):
        FloodPlan(**values)  # type: ignore[arg-type]


def test_a_flood_stops_at_its_request_cap_and_comes_from_every_source(tmp_path: Path) -> None:
    with server() as (url, seen):
        plan = FloodPlan(
            url=url,
            path="/x",
            method="GET",
            body=None,
            sources=("127.0.0.11", "127.0.0.12"),
            connections=4,
            requests_per_connection=5,
            rate_per_second=2000,
            max_requests=200,
            max_seconds=20,
        )
        flood = FloodProcess(plan, tmp_path / "flood.json")
        flood.start()
        deadline = 20.0
        while flood.running and deadline > 0:
            threading.Event().wait(0.05)
            deadline -= 0.05
        report = flood.stop()
    assert report is not None
    assert report.stopped_by == "count"
    assert report.requests == 200
    assert report.by_status == {"200": seen["127.0.0.11"], "429": seen["127.0.0.12"]}
    assert set(seen) == {"127.0.0.11", "127.0.0.12"}
    assert sum(seen.values()) == 200


def test_a_flood_is_paced_and_stops_at_its_time_cap(tmp_path: Path) -> None:
    with server() as (url, seen):
        plan = FloodPlan(url=url, connections=2, rate_per_second=20, max_seconds=1.0)
        flood = FloodProcess(plan, tmp_path / "flood.json")
        flood.start()
        threading.Event().wait(3.0)
        assert not flood.running  # ended by itself
        report = flood.stop()
    assert report is not None
    assert report.stopped_by == "time"
    assert 10 <= report.requests <= 25  # about 20 in one second, never a burst
    assert report.requests == sum(seen.values())


def test_stopping_a_flood_early_reports_what_it_sent(tmp_path: Path) -> None:
    with server() as (url, seen):
        plan = FloodPlan(url=url, connections=2, rate_per_second=100, max_seconds=60)
        flood = FloodProcess(plan, tmp_path / "flood.json")
        flood.start()
        threading.Event().wait(1.0)
        report = flood.stop()
        assert not flood.running
    assert report is not None
    assert report.stopped_by == "signal"
    assert report.requests == sum(seen.values()) > 20
    assert flood.stop() is not None  # stopping twice is harmless
