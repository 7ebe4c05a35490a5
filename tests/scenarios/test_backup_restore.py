"""The monthly backup-restore test end to end: a full restore into a scratch instance while the
sandbox keeps serving, verified against the source, with restore time and backup freshness."""

from __future__ import annotations

import re

import pytest

from drills.errors import ExitCode
from tests.scenarios.conftest import DrillFn

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_backup_restore_test_verifies_without_an_outage(run_drill: DrillFn) -> None:
    outcome, report = run_drill("backup-restore-test")
    assert report["verdict"] == "met", report["verdict_reason"]
    assert outcome.exit_code == ExitCode.MET
    m = report["measurements"]
    # the restore is the fault; the live system kept serving every write meanwhile
    assert m["fault_at"] is not None
    assert m["detected_at"] is None and m["rto_seconds"] is None
    assert m["writes_failed"] == 0 and m["writes_lost"] == 0
    rto = next(o for o in report["objectives"] if o["name"] == "rto")
    assert rto["met"] is None and "no outage expected" in rto["reason"]
    # what the test measured
    assert m["rows_verified"] > 0
    assert 0 < m["restore_seconds"] < 30
    assert 0 <= m["backup_age_seconds"] < 120
    assert 0 <= m["rpo_exposure_seconds"] <= 300
    assert outcome.run_dir is not None
    # the report names what the restore measured for people, with units, never as raw keys
    text = (outcome.run_dir / "report.md").read_text()
    assert re.search(r"\| Restore \| \d[\d.]* (ms|s) \|", text), text
    assert "| Rows verified after the restore |" in text
    assert "restore_seconds" not in text
