"""Running the `drills` command in this process, as `python -m drills` would, for fast CLI tests.

`drills(...)` calls the real entry point (`drills.cli.main.main`) with a private DRILLS_HOME and
returns the exit code and what was printed, so a test can assert "one line, exit 2" for hundreds
of inputs without paying an interpreter start each time.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from drills.cli.main import main


@dataclass(frozen=True)
class Done:
    code: int
    stdout: str
    stderr: str

    def line(self) -> str:
        """The one non-empty stderr line (fails the test when there are more or none)."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, self.stderr
        return lines[0]


def invoke(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path, *args: str
) -> Done:
    monkeypatch.setenv("DRILLS_HOME", str(home))
    # main() installs process-wide hooks (threads, logging) as a real process would: undo them
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    monkeypatch.setattr(logging, "raiseExceptions", logging.raiseExceptions)
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return Done(code, out, err)
