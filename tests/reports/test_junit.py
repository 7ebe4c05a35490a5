"""junit.xml, parsed back: one testcase per objective plus a verdict testcase."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from drills.reports.junit import JUnitRenderer
from tests.reports.runs import Run, aborted_run, invalid_run, met_run, missed_run


def _suite(run: Run) -> ET.Element:
    text = JUnitRenderer().render(run.result, run.samples, run.canary)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    return suites[0]


def _cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in suite.findall("testcase")}


def test_one_testcase_per_objective_and_a_verdict(run: Run) -> None:
    suite = _suite(run)
    assert suite.attrib["name"] == run.result.drill.scenario
    cases = _cases(suite)
    assert list(cases) == [o.name for o in run.result.objectives] + ["verdict"]
    for case in cases.values():
        assert case.attrib["classname"] == f"drills.{run.result.drill.scenario}"
    failures = sum(1 for c in cases.values() if c.find("failure") is not None)
    skipped = sum(1 for c in cases.values() if c.find("skipped") is not None)
    assert suite.attrib["tests"] == str(len(cases))
    assert suite.attrib["failures"] == str(failures)
    assert suite.attrib["skipped"] == str(skipped)
    props = {p.attrib["name"]: p.attrib["value"] for p in suite.iter("property")}
    assert props["run_id"] == run.result.run_id
    assert props["verdict"] == run.result.verdict.value


def test_met_run_passes_everything() -> None:
    cases = _cases(_suite(met_run()))
    assert all(c.find("failure") is None and c.find("skipped") is None for c in cases.values())


def test_missed_objective_fails_with_measured_vs_threshold() -> None:
    cases = _cases(_suite(missed_run()))
    failure = cases["rto"].find("failure")
    assert failure is not None
    assert failure.attrib["message"] == ("rto: measured 15 min 50 s, threshold <= 15 min 00 s")
    assert cases["rpo"].find("failure") is None
    skipped = cases["mttr"].find("skipped")
    assert skipped is not None
    assert "needs 3 runs" in skipped.attrib["message"]
    assert cases["verdict"].find("failure") is not None


def test_invalid_and_aborted_runs_fail_the_verdict_case() -> None:
    for build, verdict in ((invalid_run, "invalid"), (aborted_run, "aborted")):
        run = build()
        cases = _cases(_suite(run))
        failure = cases["verdict"].find("failure")
        assert failure is not None, verdict
        assert failure.attrib["message"].startswith(f"verdict {verdict}: ")
        # no objective failed on its own: only the verdict case makes CI red
        assert all(cases[o.name].find("failure") is None for o in run.result.objectives)
