"""The summary of a suite (a cadence's drills): `suite.json`, `suite.md` and `junit.xml`.

One row per drill with its verdict and headline numbers, and the suite's verdict: the worst of its
drills (aborted or invalid > missed > met), because one drill that proved nothing fails the suite.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drills.models import DrillResult, Verdict
from drills.numbers import fmt_count, fmt_seconds
from drills.reports.base import write_atomic

SUITE_SCHEMA = "drills.suite/v1"
_RANK = {Verdict.MET: 0, Verdict.MISSED: 1, Verdict.INVALID: 2, Verdict.ABORTED: 2}


@dataclass(frozen=True)
class SuiteEntry:
    scenario: str
    run_dir: Path | None
    result: DrillResult | None
    error: str | None = None  # refused or crashed before a result existed

    @property
    def verdict(self) -> Verdict:
        return self.result.verdict if self.result is not None else Verdict.ABORTED


def suite_verdict(entries: Sequence[SuiteEntry]) -> Verdict:
    if not entries:
        return Verdict.INVALID
    return max((e.verdict for e in entries), key=lambda v: _RANK[v])


def _row(entry: SuiteEntry) -> dict[str, Any]:
    row: dict[str, Any] = {
        "scenario": entry.scenario,
        "verdict": entry.verdict.value,
        "run_dir": None if entry.run_dir is None else str(entry.run_dir),
    }
    if entry.result is None:
        row["reason"] = entry.error
        return row
    m = entry.result.measurements
    row.update(
        run_id=entry.result.run_id,
        reason=entry.result.verdict_reason,
        duration_seconds=round(entry.result.ended_at - entry.result.started_at, 3),
        rto_seconds=m.rto_seconds,
        rpo_seconds=m.rpo_seconds,
        writes_lost=m.writes_lost,
        writes_corrupted=m.writes_corrupted,
    )
    return row


def build_suite(name: str, entries: Sequence[SuiteEntry], wall_seconds: float) -> dict[str, Any]:
    rtos = [e.result.measurements.rto_seconds for e in entries if e.result is not None]
    measured = [r for r in rtos if r is not None]
    return {
        "schema": SUITE_SCHEMA,
        "suite": name,
        "verdict": suite_verdict(entries).value,
        "wall_seconds": round(wall_seconds, 3),
        "mean_rto_seconds": round(sum(measured) / len(measured), 6) if measured else None,
        "drills": [_row(e) for e in entries],
    }


def _fmt(value: object, unit: str = "") -> str:
    """Rounded and in its unit (durations through `drills.numbers`), "n/a" when unknown."""
    if value is None:
        return "n/a"
    if isinstance(value, int | float) and unit.strip() == "s":
        return fmt_seconds(float(value))
    if isinstance(value, int | float):
        return fmt_count(value)
    return f"{value}{unit}"


def render_markdown(summary: dict[str, Any]) -> str:
    verdict = Verdict(summary["verdict"])
    lines = [
        f"# Drill suite: {summary['suite']} — {verdict.value.upper()}",
        "",
        f"{len(summary['drills'])} drills in {summary['wall_seconds']:.1f} s; "
        f"mean RTO {_fmt(summary['mean_rto_seconds'], ' s')}.",
        "",
        "| drill | verdict | RTO | RPO | writes lost | corrupted | why |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in summary["drills"]:
        v = Verdict(row["verdict"])
        lines.append(
            f"| {row['scenario']} | {v.value.upper()} | {_fmt(row.get('rto_seconds'), ' s')} "
            f"| {_fmt(row.get('rpo_seconds'), ' s')} | {_fmt(row.get('writes_lost'))} "
            f"| {_fmt(row.get('writes_corrupted'))} | {row.get('reason') or ''} |"
        )
    lines += ["", "Each drill's own reports are in its folder beside this file.", ""]
    return "\n".join(lines)


def render_junit(summary: dict[str, Any]) -> str:
    drills = summary["drills"]
    failures = sum(1 for row in drills if row["verdict"] != Verdict.MET.value)
    suite = ET.Element(
        "testsuite",
        name=f"drills.suite.{summary['suite']}",
        tests=str(len(drills)),
        failures=str(failures),
        time=f"{summary['wall_seconds']:.3f}",
    )
    for row in drills:
        case = ET.SubElement(
            suite, "testcase", classname=f"drills.suite.{summary['suite']}", name=row["scenario"]
        )
        if row["verdict"] != Verdict.MET.value:
            failure = ET.SubElement(
                case, "failure", message=f"{row['verdict']}: {row.get('reason')}"
            )
            failure.text = json.dumps(row, indent=2)
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write_suite(
    name: str, entries: Sequence[SuiteEntry], wall_seconds: float, out_dir: Path
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = build_suite(name, entries, wall_seconds)
    files = {
        "suite.json": json.dumps(summary, indent=2) + "\n",
        "suite.md": render_markdown(summary),
        "junit.xml": render_junit(summary),
    }
    paths = []
    for filename, text in files.items():
        path = out_dir / filename
        write_atomic(path, text)
        paths.append(path)
    return paths
