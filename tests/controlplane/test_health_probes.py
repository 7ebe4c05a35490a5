"""The runbook's health probes say, in Chaos Toolkit's log, what they saw when they fail: a probe's
output is a bare `False`, and "the steady state did not hold" without the answer is unactionable."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, cast

import pytest

from drills.controlplane.trust import SYSTEM_TRUST
from drills.probes.http import circuit_breakers_closed, graphql_health_check, health_ok
from drills.targets import registry
from drills.targets.base import Target
from tests.loopback import QuietHandler, serving

UNHEALTHY = {"status": "unhealthy", "replica": "cp-1", "failed": ["redis"]}


class _Unhealthy(QuietHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            self.answer(503, UNHEALTHY)
        else:  # the breakers
            self.answer(200, {"postgres": {"state": "closed"}, "redis": {"state": "open"}})

    def do_POST(self) -> None:
        self.request_body()
        self.answer(200, {"data": {"healthCheck": False}})


class _ControlPlane:
    def __init__(self, url: str) -> None:
        self.control_plane_url = url
        self.control_plane_tls = SYSTEM_TRUST


@pytest.fixture
def unhealthy() -> Iterator[dict[str, Any]]:
    with serving(_Unhealthy) as url:
        key = f"test-probes:{url}"
        registry.register(key, cast(Target, _ControlPlane(url)))
        try:
            yield {registry.CONFIG_KEY: key}
        finally:
            registry.unregister(key)


def test_a_failed_probe_logs_the_answer_it_got(
    unhealthy: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="chaostoolkit"):
        assert health_ok(2.0, unhealthy) is False
        assert graphql_health_check(2.0, unhealthy) is False
        assert circuit_breakers_closed(2.0, unhealthy) is False
    said = [r.getMessage() for r in caplog.records if r.name == "chaostoolkit"]
    assert said[0].startswith('GET /health: HTTP 503 {"status":"unhealthy"')
    assert '"failed":["redis"]' in said[0]
    assert said[1].startswith("POST /graphql healthCheck: HTTP 200")
    assert "not closed: {'redis': 'OPEN'}" in said[2]


def test_no_answer_is_said_too(caplog: pytest.LogCaptureFixture) -> None:
    with serving(_Unhealthy) as url:
        pass  # closed: nothing listens there any more
    key = f"test-probes:{url}"
    registry.register(key, cast(Target, _ControlPlane(url)))
    try:
        with caplog.at_level(logging.WARNING, logger="chaostoolkit"):
            assert health_ok(1.0, {registry.CONFIG_KEY: key}) is False
    finally:
        registry.unregister(key)
    assert [r.getMessage() for r in caplog.records] == ["GET /health: no answer"]
