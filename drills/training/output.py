"""What a training-shell command prints: its output on stdout, the shell's own remarks on stderr.

The remarks (why something is not on the sandbox) are marked as the training shell's, so a trainee
never mistakes them for the tool's output.
"""

from __future__ import annotations

import sys
from typing import TextIO

from drills.errors import TrainingCommandError

__all__ = ["PREFIX", "Out", "ShimFailure"]

PREFIX = "[training shell]"
ShimFailure = TrainingCommandError


class Out:
    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    def say(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)

    def note(self, text: str) -> None:
        print(f"{PREFIX} {text}", file=self.stderr, flush=True)
