"""Runbook scenario 2 end to end, for every connection fault the experiment can inject.

Each run starts a fresh sandbox, breaks the service's path to PostgreSQL (or exhausts its pool, or
holds its write path's locks) while PostgreSQL itself stays up, follows the runbook's recovery and
must be measured: detected through the service's own health, recovered, breaker time measured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drills.errors import ExitCode
from tests.scenarios.conftest import DrillFn

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOCK_FAULTS = ("pool-exhaustion", "long-queries")


def outputs(run_dir: Path) -> dict[str, Any]:
    journal = json.loads((run_dir / "journal.json").read_text())
    return {a["activity"]["name"]: a.get("output") for a in journal["run"]}


def samples(run_dir: Path, signal: str) -> list[dict[str, Any]]:
    lines = (run_dir / "timeline.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    return [r for r in rows if r["type"] == "sample" and r["signal"] == signal]


@pytest.mark.parametrize("fault", ["blackhole", "latency", "reset", *LOCK_FAULTS])
def test_each_connection_fault_is_detected_recovered_and_measured(
    fault: str, run_drill: DrillFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILLS_CONNECTION_FAULT", fault)
    outcome, report = run_drill("database-connection-failure")
    assert outcome.run_dir is not None
    assert report["status"] == "completed", report["notes"]
    assert report["verdict"] == "met", report["verdict_reason"]
    assert outcome.exit_code == ExitCode.MET
    m = report["measurements"]
    assert m["fault_at"] < m["detected_at"] < m["recovered_at"]
    assert 0 < m["time_to_detect_seconds"] < 2.5  # before the recovery steps begin
    assert 0.5 < m["rto_seconds"] < 30
    assert m["phases"]["fault"]["errors"] > 0
    # Breakers tripped, were measured while OPEN, and are all closed after recovery.
    assert 0 < m["breaker_open_seconds"] < m["rto_seconds"] + 1
    assert m["postgres_breaker_open_seconds"] == pytest.approx(m["breaker_open_seconds"])
    assert m["breakers_open_after_recovery"] == 0
    assert m["writes_lost"] == 0
    assert m["writes_corrupted"] == 0

    steps = outputs(outcome.run_dir)
    assert steps["break-database-connections"]["fault"] == fault
    breakers = steps["check-circuit-breakers"]
    # tripped on at least one replica; under the latency fault a slow trial call can succeed and
    # close another replica's breaker by the time it is read
    assert {states["postgres"] for states in breakers.values()} & {"OPEN", "HALF-OPEN"}
    assert steps["reset-postgres-circuit-breaker"] == dict.fromkeys(breakers, "CLOSED")
    # The database itself never went down: the harness's direct check passed throughout, while
    # the service's health (through its pool and the fault) failed.
    direct = samples(outcome.run_dir, "postgres")
    assert direct and all(s["ok"] for s in direct)
    assert not all(s["ok"] for s in samples(outcome.run_dir, "health"))
    if fault in LOCK_FAULTS:
        pool = steps["check-connection-pool-status"]
        # past the runbook's 80 % line; not always every connection at the instant it is read
        # (0.875 = 7 of 8 on a busy machine, where requests to fill the last one come slower)
        assert pool["max_utilisation"] >= 0.8
        holder = steps["break-database-connections"]["lock_holder_pid"]
        assert holder in steps["terminate-long-running-queries"]
