"""Runbook scenario 1 end to end: every file written, RTO measured, no acknowledged write lost."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from drills.errors import ExitCode
from drills.history import History
from drills.settings import Settings
from tests.scenarios.conftest import DrillFn

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RUN_FILES = {
    "report.json",
    "report.md",
    "report.html",
    "junit.xml",
    "journal.json",
    "timeline.jsonl",
    "canary.jsonl",
}


def test_complete_outage_is_measured_end_to_end(run_drill: DrillFn, tmp_path: Path) -> None:
    outcome, report = run_drill("complete-outage")
    assert outcome.run_dir is not None
    assert {p.name for p in outcome.run_dir.iterdir()} >= RUN_FILES
    assert report["schema"] == "drills.report/v1"
    assert report["verdict"] == "met", report["verdict_reason"]
    assert outcome.exit_code == ExitCode.MET
    m = report["measurements"]
    # the outage really happened and was really measured
    assert m["fault_at"] < m["detected_at"] < m["recovered_at"]
    assert 0 < m["time_to_detect_seconds"] < 1.0
    assert 0.3 < m["rto_seconds"] < 60
    assert m["downtime_seconds"] <= m["rto_seconds"]
    assert m["resolution_seconds"] <= 0.11
    # durable commits survive a crash of everything
    assert m["writes_acknowledged"] > 300
    assert m["writes_failed"] > 0  # the canary kept writing through the outage
    assert m["writes_lost"] == 0
    assert m["writes_corrupted"] == 0
    assert m["rpo_seconds"] == 0
    # per store: PostgreSQL and the graph store (neo4j) were both killed and lost nothing
    assert set(m["stores"]) == {"postgres", "neo4j"}
    assert all(s["writes_lost"] == 0 and s["rpo_seconds"] == 0 for s in m["stores"].values())
    assert m["phases"]["fault"]["errors"] > 0
    names = {o["name"] for o in report["objectives"]}
    assert {"rto", "rpo"} <= names
    # the timeline holds samples for every signal, and activity marks with the fault
    lines = [
        json.loads(line) for line in (outcome.run_dir / "timeline.jsonl").read_text().splitlines()
    ]
    signals = {r["signal"] for r in lines if r["type"] == "sample"}
    assert signals == {"health", "graphql", "postgres", "redis", "neo4j"}
    faults = [r for r in lines if r["type"] == "activity-start" and "fault" in r["tags"]]
    assert len(faults) == 1
    # JUnit parses back, one case per objective plus the verdict
    suite = ET.parse(outcome.run_dir / "junit.xml").getroot()
    cases = suite.iter("testcase")
    assert {c.get("name") for c in cases} >= names | {"verdict"}
    # the run is in the history
    with History(Settings.from_environ().history) as history:
        runs = history.runs("complete-outage")
    assert [r.run_id for r in runs] == [report["run_id"]]
    assert runs[0].rto_seconds == pytest.approx(m["rto_seconds"])
