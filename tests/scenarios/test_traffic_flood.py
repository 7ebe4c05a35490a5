"""Runbook scenario 3 end to end: a bounded flood really hurts legitimate traffic, and the
runbook's mitigation (scale out, stricter rate limit, deny list) is measured as the RTO."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drills.errors import ExitCode
from tests.scenarios.conftest import DrillFn

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ATTACKERS = ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]


def steps(run_dir: Path) -> dict[str, Any]:
    journal = json.loads((run_dir / "journal.json").read_text())
    return {a["activity"]["name"]: a.get("output") for a in journal["run"] + journal["rollbacks"]}


def test_a_flood_degrades_legitimate_traffic_until_the_attackers_are_blocked(
    run_drill: DrillFn,
) -> None:
    outcome, report = run_drill("traffic-flood")
    assert outcome.run_dir is not None
    assert report["status"] == "completed", report["notes"]
    assert report["verdict"] == "met", report["verdict_reason"]
    assert outcome.exit_code == ExitCode.MET
    m = report["measurements"]
    assert m["fault_at"] < m["detected_at"] < m["recovered_at"]
    assert 1.0 < m["rto_seconds"] < 40  # time to mitigate
    # Legitimate traffic (the sampler's, from 127.0.0.1) per phase: the flood made it slower
    # and made it fail; after the mitigation it is back within the runbook's objectives.
    steady, fault, after = (m["phases"][p] for p in ("steady", "fault", "after"))
    assert fault["p95_latency_seconds"] > max(0.1, 5 * steady["p95_latency_seconds"])
    assert fault["error_rate"] > steady["error_rate"]
    assert fault["error_rate"] >= 0.2
    assert after["p95_latency_seconds"] < 0.5
    assert after["error_rate"] < 0.05
    # The flood really came from the attackers, and the deny list refused them.
    out = steps(outcome.run_dir)
    assert out["start-traffic-flood"]["plan"]["sources"] == ATTACKERS
    assert m["flood_requests"] > 500
    assert m["flood_denied"] > 0
    after_review = out["review-rate-limiting-after"]
    assert after_review["denied_total"] > 0
    assert all(sorted(r["deny"]) == ATTACKERS for r in after_review["replicas"].values())
    assert {r["limit"] for r in after_review["replicas"].values()} == {"150/second"}
    assert len(after_review["replicas"]) == 3  # scaled out
    # Rolled back: the flood stopped, the deny list and limit cleared, two replicas again.
    assert out["stop-traffic-flood"]["report"]["stopped_by"] == "signal"
    assert out["scale-control-plane-back"] == 2
    assert m["writes_lost"] == 0
