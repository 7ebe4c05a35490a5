"""`drills trend`: runs over time as text and as a self-contained page with baseline and marks."""

from __future__ import annotations

import json
import re
from pathlib import Path

from drills.errors import ExitCode
from drills.history import History
from drills.models import Verdict
from drills.reports.trend import trend_html, trend_text
from drills.trend import build_trend, history_position
from tests.cli.test_gate_cli import run_drills
from tests.drills_process import one_line
from tests.engine.seeded import EPOCH, Seeder

OBJECTIVES = {"objectives": [{"name": "rto", "threshold": 5.0}, {"name": "rpo", "threshold": 300}]}


def seeded(path: Path) -> None:
    with History(path) as history:
        seeder = Seeder(history)
        seeder.invocation([1.4, 1.5, 1.6, 1.5, 1.45])
        seeder.invocation([1.5, 1.55, 1.5], verdicts=[Verdict.MET, Verdict.INVALID, Verdict.MET])
        seeder.invocation([2.6, 2.7, 2.8], verdicts=[Verdict.MET, Verdict.ABORTED, Verdict.MISSED])
        newest = history.run(f"{seeder.scenario}-{seeder.count:06d}")
        assert newest is not None
        row = list(newest.row())
        row[11] = json.dumps(OBJECTIVES)  # the stored report, with the objectives
        history.insert_rows([row])


def test_trend_marks_baseline_newest_and_runs_that_prove_nothing(tmp_path: Path) -> None:
    seeded(tmp_path / "h.sqlite")
    with History(tmp_path / "h.sqlite") as history:
        trend = build_trend(history, "complete-outage")
    assert len(trend.runs) == 11
    assert trend.objectives == {"rto": 5.0, "rpo": 300.0}
    assert len(trend.baseline_ids) == 7  # the met runs before the newest invocation
    assert trend.bands["rto"].median == 1.5
    text = trend_text(trend)
    assert text.count("newest invocation") == 3 and text.count("baseline") >= 7
    assert "objective <= 5 s" in text and "invalid" in text and "aborted" in text
    page = trend_html(trend)
    assert "<script" not in page and "src=" not in page and "href=" not in page
    assert set(re.findall(r"https?://[^\"' ]+", page)) == {"http://www.w3.org/2000/svg"}
    assert page.count("<svg") == 3
    assert page.count('class="newest"') == 3 * 2  # two measured runs of the newest, per chart
    assert page.count("(proves nothing)") == 3 * 2  # the invalid and the aborted run, per chart
    assert page.count('class="objective"') == 1  # RTO's 5 s is drawn; RPO's 300 s is not
    assert "objective 300 s (far above every run: not drawn)" in page


def test_trend_cli_writes_the_page_and_refuses_unknown_scenarios(tmp_path: Path) -> None:
    seeded(tmp_path / "history.sqlite")
    page = tmp_path / "pages" / "trend.html"
    done = run_drills(tmp_path, "trend", "complete-outage", "--html", str(page))
    assert done.returncode == 0, done.stderr
    assert "complete-outage on sandbox: last 11 run(s)" in done.stdout
    assert page.read_text().startswith("<!doctype html>")
    done = run_drills(tmp_path, "trend", "meteor-strike")
    assert done.returncode == ExitCode.USAGE
    assert "unknown scenario 'meteor-strike'" in one_line(done.stderr)


def test_a_run_is_placed_against_its_history(tmp_path: Path) -> None:
    seeded(tmp_path / "h.sqlite")
    with History(tmp_path / "h.sqlite") as history:
        newest = history.latest_invocation("complete-outage")
        note = history_position(history, "complete-outage", "sandbox", newest[0].started_at, 1.52)
        assert history_position(history, "complete-outage", "kubernetes", EPOCH, 1.0) is None
    assert note == (
        "against its history: RTO 1.520 s; the 7 newest earlier met run(s) on sandbox had"
        " median 1.500 s (1.400-1.600 s): slower than 6 of them"
    )


def test_the_page_shows_the_drills_runbook_coverage(tmp_path: Path) -> None:
    from drills.runbook import read_runbook
    from drills.runbook.coverage import coverage
    from tests.runbook.conftest import RUNBOOK

    seeded(tmp_path / "h.sqlite")
    with History(tmp_path / "h.sqlite") as history:
        trend = build_trend(history, "complete-outage")
    assert "Runbook coverage" not in trend_html(trend)  # no runbook given, no section
    report = coverage(read_runbook(RUNBOOK))
    page = trend_html(trend, report)
    section = page[page.index('<section class="coverage">') :]
    mine = next(e for e in report.experiments if e.name == "complete-outage")
    assert (
        f"This drill (runbook:scenario-1) exercises {len(mine.steps)} of 61 runbook steps" in page
    )
    drill_rows, never_rows = section.split("Never exercised by any drill")
    # the drill's rows: its restart of statefulset/neo4j (line 131), not the ingress controller's
    assert "kubectl rollout restart statefulset/neo4j -n intelgraph-prod" in drill_rows
    assert "ingress-nginx" not in drill_rows
    assert f"({len(report.never)})" in never_rows
    for step in report.never:
        assert f'<td class="line">{step.origin.line}</td>' in never_rows
    assert "<script" not in page and "href=" not in page  # still self-contained


def test_trend_cli_page_has_coverage_and_a_bad_runbook_is_one_line(tmp_path: Path) -> None:
    seeded(tmp_path / "history.sqlite")
    page = tmp_path / "trend.html"
    done = run_drills(tmp_path, "trend", "complete-outage", "--html", str(page))
    assert done.returncode == 0, done.stderr
    text = page.read_text()
    assert "Runbook coverage" in text and "Never exercised by any drill (10)" in text
    notes = tmp_path / "notes.md"
    notes.write_text("no headings here\n")
    done = run_drills(
        tmp_path, "trend", "complete-outage", "--html", str(page), "--runbook", str(notes)
    )
    assert done.returncode == ExitCode.USAGE
    assert "no Markdown headings" in one_line(done.stderr) and done.stdout == ""
