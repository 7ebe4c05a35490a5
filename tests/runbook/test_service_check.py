"""The runbook check's HTTP side never sends a write: a loopback server records what it is asked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from drills.controlplane.connection import Connection, Endpoint
from drills.runbook import Runbook
from drills.runbook.findings import Status
from drills.runbook.service_check import ServiceChecker
from drills.runbook.steps import HttpStep
from tests.loopback import QuietHandler, serving

BREAKERS = {"postgres": {"state": "CLOSED"}, "redis": {"state": "CLOSED"}}


class _Recorder(QuietHandler):
    seen: ClassVar[list[tuple[str, str]]] = []

    def _answer(self, status: int, body: object = None) -> None:
        self.seen.append((self.command, self.path))
        self.answer(status, body if body is not None else {"resilience": {"rate_limit": 1}})

    def do_GET(self) -> None:
        self._answer(200, BREAKERS if self.path.endswith("/circuit-breakers") else None)

    def do_OPTIONS(self) -> None:
        self._answer(405)

    def do_POST(self) -> None:
        self._answer(200)


@pytest.fixture
def server() -> Iterator[str]:
    _Recorder.seen = []
    with serving(_Recorder) as url:
        yield url


def test_writes_are_asked_for_their_route_never_sent(runbook: Runbook, server: str) -> None:
    http = Connection(Endpoint(server), 5.0, user_agent="drills-runbook-check")
    try:
        checker = ServiceChecker(http, runbook.service_url)
        steps = [s for s in runbook.steps if isinstance(s, HttpStep)]
        answers = {s.origin.line: checker.check(s, None) for s in steps}
    finally:
        http.close()
    writes = {s.origin.line for s in steps if s.mutating}
    assert writes == {153, 193, 196}  # the GraphQL query and the two breaker resets
    assert {method for method, _ in _Recorder.seen} == {"GET", "OPTIONS"}
    asked = [path for method, path in _Recorder.seen if method == "OPTIONS"]
    assert sorted(asked) == sorted(
        ["/graphql", "/api/resilience/circuit-breakers/postgres/reset"]
    )  # the neo4j reset stops at its breaker: this service has none
    assert answers[196].status is Status.DRIFT and "breaker neo4j not found" in answers[196].detail
    assert len(_Recorder.seen) == len(set(_Recorder.seen))  # each URL asked once per check
