"""`report.json`: the machine-readable record of one drill, schema `drills.report/v1`.

History, the CI gate and dashboards read this file, so its shape is fixed by a JSON Schema shipped
beside it (`schema/drills.report.v1.json`) and its bytes are deterministic: keys in a fixed order,
times as ISO-8601 UTC with a `Z`, seconds rounded to the microsecond, non-finite numbers as null.
The measurements are built here from the dataclass fields on purpose, independent of any other
serialiser, so that this file's contract changes only when this module does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from drills.models import (
    SCHEMA,
    ActivityMark,
    CanaryLog,
    DrillResult,
    Measurements,
    ObjectiveResult,
    Phase,
    Sample,
)
from drills.reports.timebase import Timebase

SCHEMA_PATH = Path(__file__).parent / "schema" / "drills.report.v1.json"

_SECONDS_FIELDS = (
    "rto_seconds",
    "time_to_detect_seconds",
    "downtime_seconds",
    "rpo_seconds",
)
_COUNT_FIELDS = (
    "writes_acknowledged",
    "writes_failed",
    "writes_lost",
    "writes_lost_after_fault",
    "writes_corrupted",
)


def _num(value: float | None) -> float | None:
    """A JSON-safe number: rounded to the microsecond, None for None, NaN or infinity."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 6)


def _extra(value: float | int | str | None) -> float | int | str | None:
    if isinstance(value, float):
        return _num(value)
    return value


def _measurements(m: Measurements, tb: Timebase) -> dict[str, Any]:
    out: dict[str, Any] = {
        "fault_at": tb.iso(m.fault_at),
        "detected_at": tb.iso(m.detected_at),
        "recovered_at": tb.iso(m.recovered_at),
    }
    for name in _SECONDS_FIELDS:
        out[name] = _num(getattr(m, name))
    for name in _COUNT_FIELDS:
        out[name] = getattr(m, name)
    out["resolution_seconds"] = _num(m.resolution_seconds)
    phases: dict[str, Any] = {}
    for phase in Phase:
        stats = m.phases.get(phase)
        phases[phase.value] = None
        if stats is not None:
            phases[phase.value] = {
                "requests": stats.requests,
                "errors": stats.errors,
                "error_rate": _num(stats.error_rate),
                "p95_latency_seconds": _num(stats.p95_latency_seconds),
            }
    out["phases"] = phases
    out["unmeasured"] = {key: m.unmeasured[key] for key in sorted(m.unmeasured)}
    if m.stores:  # per store, when the canary is written to more than one
        out["stores"] = {
            store: {**loss.to_json(), "rpo_seconds": _num(loss.rpo_seconds)}
            for store, loss in m.stores.items()
        }
    # Extras never shadow a defined field: the defined meaning wins.
    for key in sorted(m.extra):
        if key not in out:
            out[key] = _extra(m.extra[key])
    return out


def _objective(o: ObjectiveResult) -> dict[str, Any]:
    return {
        "name": o.name,
        "threshold": _num(o.threshold),
        "measured": _num(o.measured),
        "margin": _num(o.margin),
        "met": o.met,
        "comparison": o.comparison.value,
        "unit": o.unit,
        "reason": o.reason,
    }


def _activity(a: ActivityMark, tb: Timebase) -> dict[str, Any]:
    return {
        "name": a.name,
        "kind": a.kind,
        "stage": a.stage.value,
        "start": tb.iso(a.start),
        "end": tb.iso(a.end),
        "duration_seconds": None if a.end is None else _num(a.end - a.start),
        "tags": list(a.tags),
        "status": a.status,
    }


def build_report(result: DrillResult, samples: Sequence[Sample]) -> dict[str, Any]:
    """The `drills.report/v1` document of a finished run, as plain JSON-safe data.

    `samples` is accepted for symmetry with the other renderers; the timeline itself is kept in
    `timeline.jsonl`, not repeated here.
    """
    del samples
    tb = Timebase.of(result)
    return {
        "schema": SCHEMA,
        "run_id": result.run_id,
        "drill": {
            "scenario": result.drill.scenario,
            "title": result.drill.title,
            "experiment": result.drill.experiment_path,
        },
        "target": {
            "name": result.target.name,
            "kind": result.target.kind,
            "address": result.target.address,
        },
        "started_at": tb.iso(result.started_at),
        "ended_at": tb.iso(result.ended_at),
        "duration_seconds": _num(result.ended_at - result.started_at),
        "status": result.status.value,
        "verdict": result.verdict.value,
        "verdict_reason": result.verdict_reason,
        "measurements": _measurements(result.measurements, tb),
        "objectives": [_objective(o) for o in result.objectives],
        "activities": [_activity(a, tb) for a in result.activities],
        "notes": list(result.notes),
    }


@cache
def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that every `report.json` satisfies."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


class JsonRenderer:
    """Renders `report.json`: indent 2, keys in the schema's order, UTF-8, trailing newline."""

    filename: str = "report.json"

    def render(
        self, result: DrillResult, samples: Sequence[Sample], canary: CanaryLog | None = None
    ) -> str:
        document = build_report(result, samples)
        return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
