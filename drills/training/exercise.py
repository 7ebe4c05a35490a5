"""One game day's folder: what the facilitator started, and everything the trainee did in it.

`drills train start` runs in the facilitator's terminal; the trainee works in other processes
(`drills train shell`, its `kubectl`/`curl`/script shims, `drills train ack|note|hint|resolve`).
They meet here, in plain files: `exercise.json` (written by the game, read by everyone),
`events.jsonl` (appended by everyone, one line per event, each one `write()` on an O_APPEND
descriptor so concurrent writers never interleave) and `status.json` (the game's live snapshot for
`drills train status`). `$DRILLS_HOME/training/current` names the exercise running now.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from drills.errors import InputError

__all__ = [
    "EventKind",
    "Exercise",
    "ExerciseInfo",
    "ExerciseState",
    "TraineeEvent",
    "current_exercise",
    "training_root",
]

INFO_FILE = "exercise.json"
EVENTS_FILE = "events.jsonl"
STATUS_FILE = "status.json"
CURRENT_FILE = "current"


class ExerciseState(StrEnum):
    PREPARING = "preparing"  # preflight, steady state, fault not yet injected
    RUNNING = "running"  # the fault is in; the clock runs
    ENDING = "ending"  # resolved, time limit, stop or Ctrl-C: restoring and scoring
    ENDED = "ended"


class EventKind(StrEnum):
    COMMAND = "command"  # a shell command run through the training shell
    ACK = "ack"
    NOTE = "note"
    HINT = "hint"
    RESOLVE = "resolve"  # the trainee declared it fixed (ok: whether the steady state held)
    STOP = "stop"  # the facilitator ended the exercise


@dataclass(frozen=True)
class TraineeEvent:
    """One line of `events.jsonl`; times are wall-clock UTC."""

    kind: EventKind
    at: datetime
    text: str = ""  # the command line, the note, the hint given, why a resolve was refused
    end: datetime | None = None  # commands: when they finished
    exit_status: int | None = None  # commands: their exit status
    ok: bool | None = None  # resolve: whether the steady state really held
    argv: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "at": self.at.isoformat(),
            "text": self.text,
            "end": None if self.end is None else self.end.isoformat(),
            "exit_status": self.exit_status,
            "ok": self.ok,
            "argv": list(self.argv),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TraineeEvent:
        end = data.get("end")
        return cls(
            kind=EventKind(data["kind"]),
            at=datetime.fromisoformat(data["at"]),
            text=str(data.get("text") or ""),
            end=None if end is None else datetime.fromisoformat(end),
            exit_status=data.get("exit_status"),
            ok=data.get("ok"),
            argv=tuple(data.get("argv") or ()),
        )


@dataclass
class ExerciseInfo:
    """`exercise.json`: what every process of the game day needs to know."""

    run_id: str
    scenario: str
    hidden: bool
    target_key: str  # the `drills_target` the shims and probes open
    target_kind: str
    shimmed: bool  # the training shell maps the runbook's commands (sandbox only)
    control_plane_url: str
    run_dir: str
    time_limit_seconds: float
    pager: str  # what the trainee is told
    pid: int
    state: ExerciseState = ExerciseState.PREPARING
    fault_utc: str | None = None
    deadline_utc: str | None = None
    ended_reason: str | None = None
    scorecard: str | None = None  # the scorecard's Markdown file, once written
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExerciseInfo:
        data = dict(data)
        data["state"] = ExerciseState(data.get("state", "preparing"))
        return cls(**data)


class Exercise:
    """The folder of one game day."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def bin_dir(self) -> Path:
        return self.path / "bin"

    @property
    def work_dir(self) -> Path:
        """The training shell's working folder: `./scripts/dr/...` resolve here."""
        return self.path / "work"

    def info(self) -> ExerciseInfo:
        try:
            return ExerciseInfo.from_json(json.loads((self.path / INFO_FILE).read_text()))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise InputError(f"{self.path} is not a training exercise ({exc})") from exc

    def write_info(self, info: ExerciseInfo) -> None:
        _write_atomic(self.path / INFO_FILE, json.dumps(info.to_json(), indent=2))

    def append(self, event: TraineeEvent) -> None:
        line = (json.dumps(event.to_json(), separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path / EVENTS_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def events(self) -> list[TraineeEvent]:
        """Every event so far, in the order written (a torn last line is skipped)."""
        try:
            lines = (self.path / EVENTS_FILE).read_text().splitlines()
        except FileNotFoundError:
            return []
        out: list[TraineeEvent] = []
        for line in lines:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                out.append(TraineeEvent.from_json(json.loads(line)))
        return out

    def write_status(self, status: dict[str, Any]) -> None:
        _write_atomic(self.path / STATUS_FILE, json.dumps(status))

    def status(self) -> dict[str, Any] | None:
        with contextlib.suppress(OSError, ValueError):
            data = json.loads((self.path / STATUS_FILE).read_text())
            return data if isinstance(data, dict) else None
        return None


def now_utc() -> datetime:
    return datetime.now(UTC)


def training_root(home: Path) -> Path:
    return home / "training"


def mark_current(home: Path, exercise: Exercise) -> None:
    root = training_root(home)
    root.mkdir(parents=True, exist_ok=True)
    _write_atomic(root / CURRENT_FILE, str(exercise.path))


def clear_current(home: Path, exercise: Exercise) -> None:
    pointer = training_root(home) / CURRENT_FILE
    with contextlib.suppress(OSError):
        if pointer.read_text().strip() == str(exercise.path):
            pointer.unlink()


def current_exercise(home: Path, given: Path | None = None) -> Exercise:
    """The exercise named by `--exercise`, else the one running now (InputError when none)."""
    if given is not None:
        exercise = Exercise(given)
        exercise.info()  # refuse a folder that is not an exercise
        return exercise
    try:
        path = Path((training_root(home) / CURRENT_FILE).read_text().strip())
    except OSError:
        raise InputError(
            "no training exercise is running (start one with `drills train start`)"
        ) from None
    exercise = Exercise(path)
    exercise.info()
    return exercise


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    temporary.replace(path)
