"""The CI gate's decision, rendered: one screen of text, JSON, `gate.md` and `gate.xml` (JUnit).

Every format says the same per scenario and metric: the baseline's median and spread, the new
values, the test's p-value against its threshold, the decision and why. A pinned or reset
baseline shows its reason in every format. Renderers read a finished `GateResult` and decide
nothing.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from statistics import median
from typing import Any

from drills.gate import Decision, GateResult, MetricCheck, ScenarioGate
from drills.reports.base import write_atomic

__all__ = ["gate_json", "gate_junit", "gate_markdown", "gate_text", "write_gate_files"]

_LABEL = {
    Decision.PASS: "PASS",
    Decision.FAIL: "FAIL",
    Decision.UNDECIDED: "CANNOT DECIDE",
    Decision.NOT_MEASURED: "not measured",
    Decision.NO_BASELINE: "no baseline",
}


def _num(value: float, unit: str) -> str:
    return f"{value:.3f}" if unit == "s" else f"{value:g}"


def _unit(check: MetricCheck) -> str:
    return "s" if check.metric.unit == "s" else "writes"


def _baseline_cell(check: MetricCheck) -> str:
    if not check.baseline:
        return "-"
    unit = check.metric.unit
    lo, hi = min(check.baseline), max(check.baseline)
    med = _num(median(check.baseline), unit)
    return f"{med} ({_num(lo, unit)}-{_num(hi, unit)}) n={len(check.baseline)}"


def _new_cell(check: MetricCheck) -> str:
    if not check.new:
        return "-"
    return " ".join(_num(v, check.metric.unit) for v in check.new)


def _test_cell(check: MetricCheck, alpha: float) -> str:
    if check.metric.key == "writes_lost" and check.decision is Decision.FAIL:
        return "any loss vs none"
    if check.p_value is not None:
        mark = "<=" if check.p_value <= alpha else ">"
        return f"p={check.p_value:.3g} {mark} {alpha:g}"
    if check.min_p_value is not None:
        return f"min p={check.min_p_value:.3g} > {alpha:g}"
    return "-"


def _rows(scenario: ScenarioGate, alpha: float) -> list[list[str]]:
    return [
        [
            f"{c.metric.label} ({_unit(c)})",
            _baseline_cell(c),
            _new_cell(c),
            _test_cell(c, alpha),
            _LABEL[c.decision],
        ]
        for c in scenario.metrics
    ]


_HEAD = ["metric", "baseline median (range)", "new runs", "test", "decision"]


def _headline(s: ScenarioGate) -> str:
    label = _LABEL[s.decision]
    if not s.baseline_runs and s.decision is Decision.PASS:
        label += " (objectives only: no baseline yet)"
    return (
        f"{label} {s.scenario} on {s.target_kind}:"
        f" {len(s.new_runs)} new run(s) of invocation {s.invocation_id}"
    )


def _run_summary(s: ScenarioGate) -> str:
    counts: dict[str, int] = {}
    for check in s.runs:
        counts[check.run.verdict.value] = counts.get(check.run.verdict.value, 0) + 1
    return ", ".join(f"{n} {verdict}" for verdict, n in counts.items())


def _why(s: ScenarioGate) -> list[str]:
    lines = [f"run {c.run.run_id}: {c.why}" for c in s.runs if c.decision is Decision.FAIL]
    if not s.baseline_runs:
        return [*lines, "no baseline yet: objectives only (each run's verdict decides)"]
    order = (Decision.FAIL, Decision.UNDECIDED, Decision.PASS)
    for decision in order:
        lines += [f"{c.metric.label}: {c.why}" for c in s.metrics if c.decision is decision]
    return lines


def gate_text(result: GateResult) -> str:
    """One screen per scenario, for a terminal or a CI log."""
    p = result.policy
    out = [
        f"drills gate: {_LABEL[result.decision]}"
        f" (alpha {p.alpha:g} per scenario and metric, exact one-sided Mann-Whitney;"
        f" minimum effect +{p.min_relative:.0%} and an absolute floor per metric)"
    ]
    for s in result.scenarios:
        out += ["", _headline(s), f"  runs: {_run_summary(s)}", f"  baseline: {s.baseline_note}"]
        rows = [_HEAD, *_rows(s, p.alpha)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(_HEAD))]
        for row in rows:
            out.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        out.append("  why:")
        out += [f"    - {line}" for line in _why(s)]
    return "\n".join(out).rstrip() + "\n"


def gate_markdown(result: GateResult) -> str:
    """`gate.md`: the same, for a pull-request comment or a job summary."""
    p = result.policy
    out = [
        f"## drills gate: {_LABEL[result.decision]}",
        "",
        f"Exact one-sided Mann-Whitney test, alpha {p.alpha:g} per scenario and metric;"
        f" a regression must also exceed +{p.min_relative:.0%} and an absolute floor.",
    ]
    for s in result.scenarios:
        out += ["", f"### {_headline(s)}", "", f"- runs: {_run_summary(s)}"]
        out += [f"- baseline: {s.baseline_note}", ""]
        out.append("| " + " | ".join(_HEAD) + " |")
        out.append("|" + "---|" * len(_HEAD))
        for row in _rows(s, p.alpha):
            out.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
        out += ["", "Why:", ""]
        out += [f"- {line}" for line in _why(s)]
    return "\n".join(out) + "\n"


def _metric_json(c: MetricCheck) -> dict[str, Any]:
    return {
        "metric": c.metric.key,
        "unit": c.metric.unit,
        "baseline": list(c.baseline),
        "new": list(c.new),
        "p_value": c.p_value,
        "min_p_value": c.min_p_value,
        "median_shift": c.shift,
        "relative_shift": None if c.relative in (None, float("inf")) else c.relative,
        "decision": c.decision.value,
        "why": c.why,
    }


def gate_json(result: GateResult) -> dict[str, Any]:
    """The decision as one JSON document (`drills gate --json`)."""
    return {
        "schema": "drills.gate/v1",
        "decision": result.decision.value,
        "policy": result.policy.to_json(),
        "scenarios": [
            {
                "scenario": s.scenario,
                "target_kind": s.target_kind,
                "invocation_id": s.invocation_id,
                "decision": s.decision.value,
                "baseline": {
                    "note": s.baseline_note,
                    "run_ids": [r.run_id for r in s.baseline_runs],
                    "mark": None
                    if s.mark is None
                    else {"action": s.mark.action, "reason": s.mark.reason},
                },
                "runs": [
                    {
                        "run_id": c.run.run_id,
                        "verdict": c.run.verdict.value,
                        "decision": c.decision.value,
                        "why": c.why,
                    }
                    for c in s.runs
                ],
                "metrics": [_metric_json(c) for c in s.metrics],
                "why": _why(s),
            }
            for s in result.scenarios
        ],
    }


def _case(classname: str, name: str, decision: Decision, why: str) -> ET.Element:
    case = ET.Element("testcase", {"classname": classname, "name": name, "time": "0"})
    if decision is Decision.FAIL:
        ET.SubElement(case, "failure", {"message": why, "type": "GateFailed"}).text = why
    elif decision in (Decision.UNDECIDED, Decision.NOT_MEASURED, Decision.NO_BASELINE):
        ET.SubElement(case, "skipped", {"message": f"{decision.value}: {why}"})
    else:
        ET.SubElement(case, "system-out").text = why
    return case


def gate_junit(result: GateResult) -> ET.Element:
    """`gate.xml`: one test suite per scenario, one case per new run and per metric."""
    suites = ET.Element("testsuites", {"name": "drills gate"})
    for s in result.scenarios:
        classname = f"drills.gate.{s.scenario}"
        cases = [_case(classname, f"run {c.run.run_id}", c.decision, c.why) for c in s.runs]
        cases += [_case(classname, c.metric.key, c.decision, c.why) for c in s.metrics]
        suite = ET.SubElement(
            suites,
            "testsuite",
            {
                "name": f"gate {s.scenario}",
                "tests": str(len(cases)),
                "failures": str(sum(c.find("failure") is not None for c in cases)),
                "skipped": str(sum(c.find("skipped") is not None for c in cases)),
                "errors": "0",
            },
        )
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", {"name": "baseline", "value": s.baseline_note})
        suite.extend(cases)
    ET.indent(suites)
    return suites


def write_gate_files(result: GateResult, out_dir: Path) -> list[Path]:
    """Write `gate.md`, `gate.xml` and `gate.json` into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    xml = ET.tostring(gate_junit(result), encoding="unicode", xml_declaration=True)
    files = {
        "gate.md": gate_markdown(result),
        "gate.xml": xml + "\n",
        "gate.json": json.dumps(gate_json(result), indent=2) + "\n",
    }
    written = []
    for name, text in files.items():
        path = out_dir / name
        write_atomic(path, text)
        written.append(path)
    return written
