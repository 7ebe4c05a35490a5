"""An install without its experiment files must say so, not print an empty table or a green `due`.

Before: `drills list` printed an empty table and `drills due --fail-if-overdue` exited 0 on an empty
list — a false green for a CI job that checks the cadence.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drills import catalog
from tests.cli.invoke import invoke


@pytest.mark.parametrize(
    "args", [("list",), ("list", "--long"), ("due",), ("due", "--fail-if-overdue", "--json")]
)
def test_an_empty_catalog_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: tuple[str, ...],
) -> None:
    empty = tmp_path / "experiments"
    empty.mkdir()
    monkeypatch.setattr(catalog, "EXPERIMENTS_DIR", empty)
    done = invoke(capsys, monkeypatch, tmp_path / "home", *args)
    assert done.code == 2, done
    assert "no scenarios" in done.line() and str(empty) in done.line()
    assert done.stdout == ""


def test_the_shipped_catalog_is_listed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    done = invoke(capsys, monkeypatch, tmp_path / "home", "list")
    assert done.code == 0, done
    assert "complete-outage" in done.stdout and "data-corruption" in done.stdout
