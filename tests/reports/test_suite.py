"""Suite summaries: the worst drill decides, every drill has a row and a JUnit case."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from drills.models import Verdict
from drills.reports.suite import SuiteEntry, build_suite, suite_verdict, write_suite
from tests.reports import runs


def entry(name: str, verdict: Verdict) -> SuiteEntry:
    result = replace(runs.met_run().result, verdict=verdict)
    return SuiteEntry(name, Path("/tmp") / name, result)


def test_worst_verdict_wins() -> None:
    assert suite_verdict([entry("a", Verdict.MET), entry("b", Verdict.MET)]) is Verdict.MET
    assert suite_verdict([entry("a", Verdict.MET), entry("b", Verdict.MISSED)]) is Verdict.MISSED
    mixed = [entry("a", Verdict.MISSED), entry("b", Verdict.INVALID), entry("c", Verdict.MET)]
    assert suite_verdict(mixed) is Verdict.INVALID
    assert suite_verdict([]) is Verdict.INVALID
    refused = SuiteEntry("d", None, None, "refused: production")
    assert suite_verdict([entry("a", Verdict.MET), refused]) is Verdict.ABORTED


def test_files_hold_every_drill(tmp_path: Path) -> None:
    entries = [
        entry("complete-outage", Verdict.MET),
        SuiteEntry("traffic-flood", None, None, "boom"),
    ]
    write_suite("quarterly", entries, 42.0, tmp_path)
    summary = json.loads((tmp_path / "suite.json").read_text())
    assert summary == build_suite("quarterly", entries, 42.0)
    assert summary["schema"] == "drills.suite/v1"
    assert [d["scenario"] for d in summary["drills"]] == ["complete-outage", "traffic-flood"]
    assert summary["drills"][1]["reason"] == "boom"
    markdown = (tmp_path / "suite.md").read_text()
    assert "| complete-outage | MET |" in markdown
    assert "| traffic-flood | ABORTED |" in markdown
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"complete-outage", "traffic-flood"}
    assert cases["complete-outage"].find("failure") is None
    assert cases["traffic-flood"].find("failure") is not None
