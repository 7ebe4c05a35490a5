"""report.md: verdict in the title, tables, reasons, and the drill-marked runbook templates."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drills.models import ActivityMark, Stage
from reports.markdown import MarkdownRenderer, md_cell
from tests.reports.runs import Run, aborted_run, invalid_run, met_run, missed_run


@pytest.mark.parametrize(
    ("build", "badge"),
    [
        (met_run, "✅ met"),
        (missed_run, "❌ missed"),
        (invalid_run, "⚠️ invalid"),
        (aborted_run, "⛔ aborted"),
    ],
)
def test_title_names_scenario_and_verdict(build: object, badge: str) -> None:
    run: Run = build()  # type: ignore[operator]
    text = MarkdownRenderer().render(run.result, run.samples)
    assert text.splitlines()[0] == f"# Drill report: {run.result.drill.scenario} — {badge}"


def test_sections_are_all_there(run: Run) -> None:
    text = MarkdownRenderer().render(run.result, run.samples)
    for heading in (
        "## Summary",
        "## Objectives",
        "## Probe traffic per phase",
        "## Activity timeline",
        "## Communication templates",
        "### Incident Declaration",
        "### Resolution Notification",
    ):
        assert heading in text
    assert "not a real incident" in text


def test_summary_and_objectives_show_measured_values() -> None:
    run = missed_run()
    text = MarkdownRenderer().render(run.result, run.samples)
    assert "| Recovery time (RTO) | 950.0 s (15 min 50.0 s) |" in text
    assert "| Writes lost | 12 |" in text
    assert (
        "| rto | ≤ 900.0 s (15 min 00.0 s) | 950.0 s (15 min 50.0 s) | -50.000 s | ❌ missed |"
        in text
    )
    assert "| mttr | < 1800.0 s (30 min 00.0 s) | — | — | ⚠️ not measured | needs 3 runs" in text


def test_unmeasured_values_list_their_reasons() -> None:
    run = aborted_run()
    text = MarkdownRenderer().render(run.result, run.samples)
    assert "| Recovered | *not measured* |" in text
    assert "## Unmeasured values" in text
    assert "- `rto_seconds`: the run was aborted (SIGINT at +40.000 s) before recovery" in text


def test_timeline_rows_are_offsets_from_start_with_marks() -> None:
    run = met_run()
    text = MarkdownRenderer().render(run.result, run.samples)
    lines = text.splitlines()
    fault_row = lines.index("| +10.000 s | | | mark | **⚡ fault injected** | | |")
    assert lines[fault_row - 1].startswith("| +10.000 s | 0.200 s | method | action |")
    assert "| +15.000 s | | | mark | **✔️ recovered** | | |" in lines


def test_table_cells_escape_pipes() -> None:
    run = missed_run()
    text = MarkdownRenderer().render(run.result, run.samples)
    assert "wait-for-rollout \\| status" in text
    assert md_cell("a|b\nc") == "a\\|b c"


def test_no_phase_and_no_objective_runs_say_so() -> None:
    run = invalid_run()
    bare = replace(
        run.result,
        objectives=(),
        measurements=replace(run.result.measurements, phases={}),
        activities=(ActivityMark("probe", "probe", Stage.HYPOTHESIS_BEFORE, 1.0, 1.5),),
    )
    text = MarkdownRenderer().render(bare, run.samples)
    assert "No objectives were evaluated." in text
    assert "No probe traffic was recorded." in text
