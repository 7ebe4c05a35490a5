"""The gate benchmark's history filler writes rows today's history accepts (it once wrote one
column fewer than schema version 3 has, so the benchmark died before printing a figure)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from benchmarks.gate import measure, rows
from drills.gate import GatePolicy, gate
from drills.history import History


def test_the_filler_rows_are_runs_the_gate_reads(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite") as history:
        history.insert_rows(rows(60, 3, random.Random(1)))
        assert len(history.all_runs()) == 60
        result = gate(history, [], GatePolicy())
    assert [s.scenario for s in result.scenarios] == [f"scenario-{k:02d}" for k in range(3)]
    assert all(len(s.new_runs) == 5 for s in result.scenarios)


def test_the_benchmark_prints_its_figures_on_a_small_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    measure("sqlite", tmp_path / "h.sqlite", runs=200, scenarios=10)
    printed = capsys.readouterr().out
    assert "sqlite: gate decision, 1 scenario:" in printed
    assert "sqlite: record one run (8 KB report): median" in printed
