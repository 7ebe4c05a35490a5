"""The monthly failover drill end to end: kill -9 the primary, promote the standby, measure RTO
and the exact loss of asynchronous replication, fail back - and the sandbox is reusable after."""

from __future__ import annotations

import pytest

from tests.scenarios.conftest import DrillFn
from tests.scenarios.recovery_checks import (
    acknowledged,
    assert_as_it_began,
    lasting_sandbox,
    stored,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_failover_is_measured_and_failed_back(run_drill: DrillFn) -> None:
    with lasting_sandbox() as box:
        target = f"sandbox:{box.layout.root}"
        outcome, report = run_drill("database-failover", target=target)
        assert report["verdict"] == "met", report["verdict_reason"]
        assert report["status"] == "completed"
        m = report["measurements"]
        assert m["fault_at"] < m["detected_at"] < m["recovered_at"]
        assert 0 < m["time_to_detect_seconds"] < 1.0
        assert 0 < m["rto_seconds"] < 30
        assert m["rpo_seconds"] is not None and m["rpo_seconds"] >= 0
        assert m["writes_acknowledged"] > 300
        # exact: every acknowledged write missing from the new primary's timeline, no more
        assert outcome.run_dir is not None
        lost = acknowledged(outcome.run_dir) - stored(box, report)
        assert m["writes_lost"] == len(lost)
        assert m["writes_corrupted"] == 0
        assert (m["rpo_seconds"] > 0) == (m["writes_lost"] > 0)  # never 0 s with writes gone
        assert 0 < m["promote_seconds"] < 5
        assert m["failback_seconds"] > 0
        assert m["breakers_open_after_recovery"] == 0

        # ends as it began, and a second drill (the monthly backup test) works on it
        assert_as_it_began(box)
        _, second = run_drill("backup-restore-test", target=target)
        assert second["verdict"] == "met", second["verdict_reason"]
        assert second["measurements"]["rows_verified"] > 0
