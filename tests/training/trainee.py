"""A game day driven from a test: the facilitator's `drills train start` in its own process, and
a trainee who types commands into `drills train shell -c ...` as a person would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drills.training.exercise import Exercise, ExerciseState

START_WITHIN_SECONDS = 180.0  # a fresh sandbox on a busy 2-core machine
END_WITHIN_SECONDS = 240.0


@dataclass
class Typed:
    code: int
    stdout: str
    stderr: str


class GameDay:
    def __init__(self, home: Path, *args: str) -> None:
        self.home = home
        self.env = {
            **os.environ,
            "DRILLS_HOME": str(home),
            "DRILLS_BASELINE": "1",
            "DRILLS_OBSERVE_AFTER": "1",
        }
        self.log = home / "facilitator.log"
        home.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "drills", "train", "start", *args],
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self.exercise = self._running()

    def _running(self) -> Exercise:
        deadline = time.monotonic() + START_WITHIN_SECONDS
        pointer = self.home / "training" / "current"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the game ended early:\n{self.log.read_text()}")
            if pointer.exists():
                exercise = Exercise(Path(pointer.read_text().strip()))
                if exercise.info().state is ExerciseState.RUNNING:
                    return exercise
            time.sleep(0.2)
        raise AssertionError(f"the game did not start:\n{self.log.read_text()}")

    def drills(self, *args: str) -> Typed:
        done = subprocess.run(
            [sys.executable, "-m", "drills", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        return Typed(done.returncode, done.stdout, done.stderr)

    def type(self, command: str) -> Typed:
        """One command typed into the training shell."""
        return self.drills("train", "shell", "-c", command)

    def wait(self) -> int:
        try:
            return self.process.wait(timeout=END_WITHIN_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=120)
            raise AssertionError(f"the game did not end:\n{self.log.read_text()}") from None

    def scorecard(self) -> dict[str, Any]:
        run_dir = Path(self.exercise.info().run_dir)
        data: dict[str, Any] = json.loads((run_dir / "scorecard.json").read_text())
        return data

    def close(self) -> None:
        """Whatever happened in the test, nothing is left running."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
