"""Bad input to `drills train`: one line on stderr, exit 2, and nothing started or left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drills.errors import ExitCode, InputError
from tests.cli.invoke import invoke


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("start", "no-such-scenario"), "cannot be trained"),
        (
            ("start", "traffic-flood"),
            "cannot be trained (trainable: complete-outage, data-corruption)",
        ),
        (("start", "complete-outage", "--random"), "give a SCENARIO or --random"),
        (("start",), "give a SCENARIO or --random"),
        (("start", "complete-outage", "--time-limit", "5x"), "write a duration like"),
        (("start", "complete-outage", "--time-limit", "0"), "more than 0"),
        (("start", "complete-outage", "--time-limit", "9h"), "at most 8h"),
        (("start", "complete-outage", "--runbook", "/nonexistent/runbook.md"), "runbook"),
        (("start", "complete-outage", "--target", "/nonexistent/profile.yaml"), "profile"),
        (("ack",), "no training exercise is running"),
        (("shell", "-c", "true"), "no training exercise is running"),
        (("resolve",), "no training exercise is running"),
        (("stop",), "no training exercise is running"),
    ],
)
def test_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: tuple[str, ...],
    says: str,
) -> None:
    done = invoke(capsys, monkeypatch, tmp_path / "home", "train", *args)
    assert done.code == ExitCode.USAGE, done.stderr
    assert says in done.line()
    assert not (tmp_path / "home" / "runs").exists() or not any(
        (tmp_path / "home" / "runs").iterdir()
    )


def test_a_folder_that_is_no_exercise(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    done = invoke(
        capsys, monkeypatch, tmp_path / "home", "train", "hint", "--exercise", str(tmp_path)
    )
    assert done.code == ExitCode.USAGE and "is not a training exercise" in done.line()


@given(st.integers(min_value=1, max_value=8 * 60), st.sampled_from(["", "s", "m"]))
def test_durations(value: int, unit: str) -> None:
    from drills.cli.train import parse_duration

    assert parse_duration(f"{value}{unit}") == value * {"": 1, "s": 1, "m": 60}[unit]


@given(st.text())
def test_any_text_is_a_duration_or_an_input_error(text: str) -> None:
    from drills.cli.train import parse_duration

    try:
        seconds = parse_duration(text)
    except InputError:
        return
    assert 0 < seconds <= 8 * 3600


def test_production_looking_targets_are_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.cli.test_production_guard_cli import _profile

    profile = _profile(tmp_path, "intelgraph-prod", "staging", "staging")
    done = invoke(
        capsys, monkeypatch, tmp_path / "home", "train", "start", "complete-outage",
        "--target", str(profile),
    )  # fmt: skip
    assert done.code == ExitCode.ABORTED and "prod" in done.line()
    assert not (tmp_path / "home" / "training").exists()  # no exercise was started
