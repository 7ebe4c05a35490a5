"""Scenario tests run `drills run` for real: a fresh sandbox, the real fault, real measurement."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from drills.reports import load_schema
from drills.runner import Runner, RunOutcome, RunRequest
from drills.settings import Settings

DrillFn = Callable[..., tuple[RunOutcome, dict[str, Any]]]


@pytest.fixture
def run_drill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DrillFn:
    """Run a scenario on a fresh sandbox; returns the outcome and the parsed report.json."""
    monkeypatch.setenv("DRILLS_HOME", str(tmp_path / "home"))

    def run(scenario: str, **request: Any) -> tuple[RunOutcome, dict[str, Any]]:
        out = tmp_path / Path(scenario).stem  # a name, or an experiment file by path
        outcome = Runner(Settings.from_environ()).run(RunRequest(scenario, out=out, **request))
        report = json.loads((out / "report.json").read_text())
        jsonschema.validate(report, load_schema())  # every scenario's report is drills.report/v1
        return outcome, report

    return run
