"""write_all: every format written atomically into the run's folder, nothing else."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from drills.errors import DrillError
from drills.models import CanaryLog, DrillResult, Sample
from drills.reports.base import Renderer, ReportError, write_all
from tests.reports.runs import met_run

FILES = ["report.json", "report.md", "report.html", "junit.xml"]


def test_writes_the_four_reports(tmp_path: Path) -> None:
    run = met_run()
    out = tmp_path / "runs" / run.result.run_id
    paths = write_all(run.result, run.samples, out)
    assert [p.name for p in paths] == FILES
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["verdict"] == "met"


def test_rewrite_replaces_whole_files_and_leaves_no_temporaries(tmp_path: Path) -> None:
    run = met_run()
    (tmp_path / "report.md").write_text("old", encoding="utf-8")
    first = write_all(run.result, run.samples, tmp_path)
    second = write_all(run.result, run.samples, tmp_path)
    assert first == second
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    assert (tmp_path / "report.md").read_text(encoding="utf-8").startswith("# Drill report")


class _Broken:
    filename = "broken.txt"

    def render(
        self, result: DrillResult, samples: Sequence[Sample], canary: CanaryLog | None = None
    ) -> str:
        raise RuntimeError("renderer bug")


class _Plain:
    filename = "plain.txt"

    def render(
        self, result: DrillResult, samples: Sequence[Sample], canary: CanaryLog | None = None
    ) -> str:
        return f"{result.run_id} {len(samples)}\n"


def test_a_failing_renderer_writes_nothing(tmp_path: Path) -> None:
    run = met_run()
    renderers: list[Renderer] = [_Plain(), _Broken()]
    with pytest.raises(RuntimeError, match="renderer bug"):
        write_all(run.result, run.samples, tmp_path, renderers=renderers)
    assert list(tmp_path.iterdir()) == []


def test_custom_renderers_follow_the_protocol(tmp_path: Path) -> None:
    run = met_run()
    [path] = write_all(run.result, run.samples, tmp_path, renderers=[_Plain()])
    assert path.read_text(encoding="utf-8") == f"{run.result.run_id} {len(run.samples)}\n"


def test_folder_in_the_way_raises_report_error(tmp_path: Path) -> None:
    run = met_run()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(ReportError) as caught:
        write_all(run.result, run.samples, blocker / "run")
    assert isinstance(caught.value, DrillError)
    assert isinstance(caught.value.__cause__, OSError)
