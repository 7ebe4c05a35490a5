"""The runbook's circuit-breaker test end to end, and proof that its checks can fail."""

from __future__ import annotations

import json

import pytest
from chaoslib.exceptions import ActivityFailed

from drills.actions.breakers import (
    assert_breaker_closes,
    assert_breaker_half_opens,
    assert_breaker_opens,
)
from drills.errors import ExitCode
from drills.targets import registry
from drills.targets.sandbox.driver import SandboxTarget
from tests.scenarios.conftest import DrillFn

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_every_breaker_opens_half_opens_resets_and_closes(run_drill: DrillFn) -> None:
    outcome, report = run_drill("circuit-breaker-test")
    assert outcome.run_dir is not None
    journal = json.loads((outcome.run_dir / "journal.json").read_text())
    failed = [a["activity"]["name"] for a in journal["run"] if a["status"] != "succeeded"]
    assert failed == []
    assert report["status"] == "completed"
    assert report["verdict"] == "met", report["verdict_reason"]
    assert outcome.exit_code == ExitCode.MET
    m = report["measurements"]
    assert m["fault_at"] < m["detected_at"] < m["recovered_at"]
    assert 2.0 < m["rto_seconds"] < 50
    for name in ("postgres", "redis", "neo4j"):
        # fail_max is 5: the breaker opened after at most five failed calls of our own
        assert 0 <= m[f"{name}_breaker_calls_until_open"] <= 5
        # reset timeout is 2 s: half-open no later than that after it last opened
        assert 0 <= m[f"{name}_breaker_half_open_after_seconds"] <= 3.0
        assert 0 <= m[f"{name}_breaker_close_seconds"] <= 5.0
        assert m[f"{name}_breaker_open_seconds"] > 1.0
    assert m["breaker_open_seconds"] >= max(
        m["postgres_breaker_open_seconds"],
        m["redis_breaker_open_seconds"],
        m["neo4j_breaker_open_seconds"],
    )
    assert m["breakers_open_after_recovery"] == 0


def test_the_checks_fail_when_a_breaker_does_not_behave(sandbox_target: SandboxTarget) -> None:
    """On a healthy service nothing fails, so no breaker may be reported as opening or
    half-opening: the checks must raise, which fails the drill's activity."""
    key = f"sandbox:{sandbox_target.sandbox.layout.root}"
    registry.register(key, sandbox_target)
    config = {registry.CONFIG_KEY: key}
    try:
        with pytest.raises(ActivityFailed, match="did not fail"):
            assert_breaker_opens("postgres", configuration=config)
        with pytest.raises(ActivityFailed, match="not OPEN"):
            assert_breaker_half_opens("redis", configuration=config)
        with pytest.raises(ActivityFailed, match="no circuit breaker named"):
            assert_breaker_closes("mongodb", configuration=config)
        assert set(assert_breaker_closes("postgres", configuration=config)["closed_after_seconds"])
    finally:
        registry.unregister(key)
