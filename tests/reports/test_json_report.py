"""report.json: validated against its JSON Schema, with the values it must carry."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no types-jsonschema in the lock
import pytest

from drills.models import SCHEMA
from drills.reports.json_report import SCHEMA_PATH, JsonRenderer, build_report, load_schema
from tests.reports.runs import Run, aborted_run, invalid_run, met_run

TOP_KEYS = [
    "schema",
    "run_id",
    "drill",
    "target",
    "started_at",
    "ended_at",
    "duration_seconds",
    "status",
    "verdict",
    "verdict_reason",
    "measurements",
    "objectives",
    "activities",
    "notes",
]


def _validator() -> jsonschema.Draft202012Validator:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_schema_file_is_draft_2020_12() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema"]["const"] == SCHEMA


def test_generated_report_validates(run: Run) -> None:
    text = JsonRenderer().render(run.result, run.samples, run.canary)
    document = json.loads(text)
    errors = sorted(_validator().iter_errors(document), key=str)
    assert not errors, "\n".join(e.message for e in errors)
    assert list(document) == TOP_KEYS


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (("verdict",), "passed"),
        (("started_at",), "2025-03-14 09:26:53"),
        (("measurements", "rto_seconds"), "5 s"),
        (("measurements", "phases", "steady", "requests"), -1),
        (("objectives", 0, "met"), "yes"),
    ],
)
def test_schema_rejects_a_broken_report(path: tuple[str | int, ...], bad: object) -> None:
    run = met_run()
    document = copy.deepcopy(build_report(run.result, run.samples))
    node: Any = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = bad
    assert not _validator().is_valid(document)


def test_times_are_iso_utc_from_the_anchor() -> None:
    run = met_run()
    doc = build_report(run.result, run.samples)
    assert doc["started_at"] == "2025-03-14T09:26:53.589793Z"
    assert doc["ended_at"] == "2025-03-14T09:27:53.589793Z"
    assert doc["duration_seconds"] == 60.0
    m = doc["measurements"]
    assert m["fault_at"] == "2025-03-14T09:27:03.589793Z"
    assert m["detected_at"] == "2025-03-14T09:27:04.089793Z"
    assert m["recovered_at"] == "2025-03-14T09:27:08.589793Z"
    first = doc["activities"][0]
    assert first["start"] == "2025-03-14T09:26:53.789793Z"
    assert first["duration_seconds"] == pytest.approx(0.2)


def test_measurements_carry_phases_and_extras() -> None:
    run = met_run()
    m = build_report(run.result, run.samples)["measurements"]
    assert m["rto_seconds"] == 5.0
    assert m["writes_acknowledged"] == 1130
    assert m["phases"]["recovery"] == {
        "requests": 24,
        "errors": 17,
        "error_rate": round(17 / 24, 6),
        "p95_latency_seconds": 0.21,
    }
    assert m["canary_rate_per_second"] == 20.0
    assert m["sustain_samples"] == 3


def test_unmeasured_values_are_null_with_reasons() -> None:
    run = invalid_run()
    doc = build_report(run.result, run.samples)
    m = doc["measurements"]
    assert m["fault_at"] is None
    assert m["rto_seconds"] is None
    assert "steady-state hypothesis failed" in m["unmeasured"]["rto_seconds"]
    assert m["phases"]["fault"] is None
    assert doc["objectives"][0]["met"] is None


def test_running_activity_has_no_end() -> None:
    run = aborted_run()
    activities = build_report(run.result, run.samples)["activities"]
    running = next(a for a in activities if a["name"] == "promote-standby-region")
    assert running["end"] is None
    assert running["duration_seconds"] is None


def test_extras_never_shadow_defined_fields_and_nan_becomes_null() -> None:
    run = met_run()
    m = replace(
        run.result.measurements,
        rpo_seconds=float("nan"),
        extra={"rto_seconds": 1.0, "odd": float("inf")},
    )
    doc = build_report(replace(run.result, measurements=m), run.samples)
    assert doc["measurements"]["rto_seconds"] == 5.0
    assert doc["measurements"]["rpo_seconds"] is None
    assert doc["measurements"]["odd"] is None
    assert _validator().is_valid(doc)


def test_rendered_json_is_indented_and_ends_with_newline() -> None:
    run = met_run()
    text = JsonRenderer().render(run.result, run.samples, run.canary)
    assert text.endswith("}\n")
    assert text.splitlines()[1] == '  "schema": "drills.report/v1",'
