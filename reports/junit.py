"""`junit.xml`: a drill as a test suite, so any CI shows a missed objective as a failed test.

One `<testsuite>` named after the drill's scenario; one `<testcase>` per objective (classname
`drills.<scenario>`): `<failure>` when it was missed, `<skipped>` when it could not be measured;
plus a `verdict` testcase that fails unless the verdict is `met`, so an invalid or aborted drill
fails the pipeline even when no single objective did.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from drills.models import CanaryLog, DrillResult, ObjectiveResult, Sample, Verdict
from drills.numbers import fmt_value
from drills.reports.timebase import Timebase

VERDICT_CASE = "verdict"


def _objective_case(o: ObjectiveResult, classname: str) -> ET.Element:
    case = ET.Element("testcase", {"classname": classname, "name": o.name, "time": "0"})
    threshold = f"{o.comparison.value} {fmt_value(o.threshold, o.unit)}"
    if o.met is None:
        reason = o.reason or "not measured"
        ET.SubElement(case, "skipped", {"message": f"not measured: {reason}"})
    elif not o.met:
        measured = fmt_value(o.measured, o.unit)
        message = f"{o.name}: measured {measured}, threshold {threshold}"
        failure = ET.SubElement(case, "failure", {"message": message, "type": "ObjectiveMissed"})
        failure.text = message + (f" ({o.reason})" if o.reason else "")
    return case


def _verdict_case(result: DrillResult, classname: str) -> ET.Element:
    duration = max(0.0, result.ended_at - result.started_at)
    attrs = {"classname": classname, "name": VERDICT_CASE, "time": f"{duration:.3f}"}
    case = ET.Element("testcase", attrs)
    if result.verdict is not Verdict.MET:
        message = f"verdict {result.verdict.value}: {result.verdict_reason}"
        failure = ET.SubElement(
            case, "failure", {"message": message, "type": f"Drill{result.verdict.value.title()}"}
        )
        failure.text = message
    out = ET.SubElement(case, "system-out")
    out.text = "\n".join(
        [f"verdict {result.verdict.value}: {result.verdict_reason}", *result.notes]
    )
    return case


def build_junit(result: DrillResult) -> ET.Element:
    """The `<testsuites>` element with the drill's one `<testsuite>`."""
    tb = Timebase.of(result)
    classname = f"drills.{result.drill.scenario}"
    cases = [_objective_case(o, classname) for o in result.objectives]
    cases.append(_verdict_case(result, classname))
    failures = sum(1 for c in cases if c.find("failure") is not None)
    skipped = sum(1 for c in cases if c.find("skipped") is not None)
    duration = f"{max(0.0, result.ended_at - result.started_at):.3f}"
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0"}
    root = ET.Element("testsuites", {"name": "drills", **counts, "time": duration})
    timestamp = (tb.iso(result.started_at) or "").removesuffix("Z")
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": result.drill.scenario,
            **counts,
            "skipped": str(skipped),
            "time": duration,
            "timestamp": timestamp,
            "hostname": result.target.name,
        },
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("run_id", result.run_id),
        ("title", result.drill.title),
        ("experiment", result.drill.experiment_path),
        ("target", f"{result.target.name} ({result.target.kind})"),
        ("status", result.status.value),
        ("verdict", result.verdict.value),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": value})
    suite.extend(cases)
    return root


class JUnitRenderer:
    """Renders `junit.xml` (UTF-8, indented)."""

    filename: str = "junit.xml"

    def render(
        self, result: DrillResult, samples: Sequence[Sample], canary: CanaryLog | None = None
    ) -> str:
        del samples
        root = build_junit(result)
        ET.indent(root)
        body = ET.tostring(root, encoding="unicode")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
