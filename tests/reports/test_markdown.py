"""report.md: verdict in the title, tables, reasons, and the drill-marked runbook templates."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drills.models import ActivityMark, Stage
from drills.reports.markdown import MarkdownRenderer, md_cell
from tests.reports.runs import Run, aborted_run, invalid_run, met_run, missed_run


@pytest.mark.parametrize(
    ("build", "badge"),
    [
        (met_run, "MET"),
        (missed_run, "MISSED"),
        (invalid_run, "INVALID"),
        (aborted_run, "ABORTED"),
    ],
)
def test_title_names_scenario_and_verdict(build: object, badge: str) -> None:
    run: Run = build()  # type: ignore[operator]
    text = MarkdownRenderer().render(run.result, run.samples, run.canary)
    assert text.splitlines()[0] == f"# Drill report: {run.result.drill.scenario} — {badge}"


def test_sections_are_all_there(run: Run) -> None:
    text = MarkdownRenderer().render(run.result, run.samples, run.canary)
    for heading in (
        "## At a glance",
        "## Measurements",
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
    text = MarkdownRenderer().render(run.result, run.samples, run.canary)
    assert "| Recovery time (RTO) | 15 min 50 s |" in text
    assert "| Writes lost | 42 |" in text
    assert "| Recovery time (RTO) | ≤ 15 min 00 s | 15 min 50 s | -50 s | MISSED |  |" in text
    assert (
        "| Mean time to recover (MTTR) | < 30 min 00 s | — | — | NOT MEASURED | needs 3 runs"
        in text
    )


def test_at_a_glance_puts_objectives_beside_the_headline_figures() -> None:
    run = missed_run()
    text = MarkdownRenderer().render(run.result, run.samples, run.canary)
    start = text.index("## At a glance")
    glance = text[start : text.index("| Run | |")].strip().splitlines()
    assert glance[4:] == [
        "| **Verdict** | **MISSED** | missed: rto 15 min 50 s (objective <= 15 min 00 s) | run completed |",
        "| **Recovery time (RTO)** | **15 min 50 s** | objective ≤ 15 min 00 s | 50 s over |",
        "| **Data loss window (RPO)** | **4.2 s** | objective ≤ 5 min 00 s | 4 min 56 s to spare |",
        "| **Writes lost** | **42** | of 500 acknowledged | 0 after the fault, 1 corrupted |",
        "| **Time to detect (TTD)** | **1 s** | no objective set | fault to the first failure known |",
    ]


def test_unmeasured_values_list_their_reasons() -> None:
    run = aborted_run()
    text = MarkdownRenderer().render(run.result, run.samples, run.canary)
    assert "| Recovered | *not measured* |" in text
    assert "## Unmeasured values" in text
    assert (
        "- Recovery time (RTO): the run was aborted (SIGINT at +40.000 s) before recovery" in text
    )


def test_timeline_rows_are_offsets_from_start_with_marks() -> None:
    run = met_run()
    text = MarkdownRenderer().render(run.result, run.samples, run.canary)
    lines = text.splitlines()
    fault_row = lines.index("| +10.00 s | | | mark | **fault injected** | | |")
    assert lines[fault_row - 1].startswith("| +10.00 s | 200 ms | method | action |")
    assert "| +15.00 s | | | mark | **recovered** | | |" in lines


def test_table_cells_escape_pipes() -> None:
    run = missed_run()
    text = MarkdownRenderer().render(run.result, run.samples, run.canary)
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
