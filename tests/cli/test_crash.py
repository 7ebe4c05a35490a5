"""An unexpected exception is one line, a log file with the traceback, and exit 4 - never 1.

Python's own exit code for a traceback is 1, which a CI gate reads as "objective missed". The
crash here is real: a user's Chaos Toolkit control whose `validate_control` raises, which chaoslib
lets through its validation.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from drills.cli.crash import install_thread_hook
from drills.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]

EXPERIMENT = """\
title: a control that breaks
description: its validate_control raises
controls:
  - name: broken
    provider: {type: python, module: brokencontrol}
method: []
"""


def test_unexpected_exception_is_one_line_a_log_and_exit_4(tmp_path: Path) -> None:
    (tmp_path / "brokencontrol.py").write_text(
        "def validate_control(control):\n    raise RuntimeError('the control is broken')\n"
    )
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text(EXPERIMENT)
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-m", "drills", "run", str(experiment), "--dry-run"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={"DRILLS_HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)},
        timeout=60,
    )
    assert done.returncode == ExitCode.INTERNAL == 4
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "internal error" in lines[0]
    assert "RuntimeError: the control is broken" in lines[0]
    logs = list((home / "logs").glob("drills-crash-*.log"))
    assert len(logs) == 1
    assert f"traceback in {logs[0]}" in lines[0]
    text = logs[0].read_text()
    assert "Traceback (most recent call last)" in text
    assert "validate_control" in text


def test_run_help_lists_the_exit_codes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "drills", "run", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=60,
    )
    flat = " ".join(done.stdout.split())
    assert "Exit codes: 0 met, 1 missed, 2 usage/input error" in flat
    assert "4 internal error" in flat


def test_a_thread_that_dies_leaves_a_line_and_a_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILLS_HOME", str(tmp_path))
    previous = threading.excepthook
    install_thread_hook()
    try:

        def die() -> None:
            raise OSError(28, "No space left on device")

        thread = threading.Thread(target=die, name="sampler-health")
        thread.start()
        thread.join()
    finally:
        threading.excepthook = previous
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "internal error in thread sampler-health: OSError" in err
    assert "Traceback" not in err
    (log,) = (tmp_path / "logs").glob("drills-crash-*.log")
    assert "No space left on device" in log.read_text()
