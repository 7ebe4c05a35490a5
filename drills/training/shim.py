"""The programs of the training shell: `kubectl`, `curl` and the runbook's scripts, recorded.

`drills train shell` puts small launchers on the PATH (and under `./scripts/`) that run
`python -m drills.training.shim EXERCISE PROGRAM ARGS...`. Each command is parsed the way the
runbook reader parses the runbook's own commands, carried out on the exercise's target, and lands
on the exercise's timeline with its arguments, start, end and exit status. On a Kubernetes target
nothing is shimmed: the launchers record the command and run the real program.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from drills.controlplane.connection import Endpoint
from drills.errors import DrillError
from drills.runbook.commands import to_step
from drills.runbook.shell import CommandLine
from drills.runbook.steps import HttpStep, KubectlStep, StepOrigin
from drills.training.exercise import (
    EventKind,
    Exercise,
    ExerciseInfo,
    ExerciseState,
    TraineeEvent,
    now_utc,
)
from drills.training.output import Out

__all__ = ["SCRIPT_PREFIX", "main", "run_command"]

SCRIPT_PREFIX = "script:"
ORIGIN = StepOrigin(line=0, section="training shell")


def _carry_out(info: ExerciseInfo, program: str, args: Sequence[str], out: Out) -> int:
    from drills.training.curl import run_curl
    from drills.training.kubectl import run_kubectl
    from drills.training.scripts import run_script

    if program.startswith(SCRIPT_PREFIX):
        return run_script(program.removeprefix(SCRIPT_PREFIX), args, info.target_key, out)
    argv = (program, *args)
    step = to_step(CommandLine(0, shlex.join(argv), argv), ORIGIN)
    if isinstance(step, KubectlStep):
        return run_kubectl(
            step, info.target_key, str(info.extra.get("namespace") or "default"), out
        )
    if isinstance(step, HttpStep):
        return run_curl(step, str(info.extra.get("service_url")), _endpoint(info), out)
    out.note(f"{program}: {getattr(step, 'reason', 'not understood')}")
    return 2


def _endpoint(info: ExerciseInfo) -> Endpoint:
    """The game's control plane with its TLS trust (the target's own, read from its key)."""
    from drills.targets.registry import CONFIG_KEY, target_from

    return Endpoint.of(target_from({CONFIG_KEY: info.target_key}))


def _passthrough(exercise: Exercise, program: str, args: Sequence[str]) -> int:
    """Run the real program (a Kubernetes target): PATH without the training launchers."""
    folders = [
        p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != exercise.bin_dir
    ]
    env = {**os.environ, "PATH": os.pathsep.join(folders)}
    try:
        return subprocess.call([program, *args], env=env)
    except FileNotFoundError:
        print(f"{program}: command not found", file=sys.stderr)
        return 127


def run_command(exercise: Exercise, program: str, args: Sequence[str], out: Out) -> int:
    """Carry out one command of the training shell and record it; its exit status."""
    info = exercise.info()
    if info.state in (ExerciseState.ENDING, ExerciseState.ENDED):
        out.note("this exercise has ended; nothing was run")
        return 1
    shown = program.removeprefix(SCRIPT_PREFIX)
    if program.startswith(SCRIPT_PREFIX):
        folder = "scripts/ops" if shown.endswith("readiness-check.sh") else "scripts/dr"
        shown = f"./{folder}/{shown}"
    started = now_utc()
    try:
        if info.shimmed:
            status = _carry_out(info, program, args, out)
        else:
            status = _passthrough(exercise, program, args)
    except DrillError as exc:
        out.note(f"error: {exc}")
        status = 1
    except KeyboardInterrupt:
        status = 130
    exercise.append(
        TraineeEvent(
            EventKind.COMMAND,
            started,
            shlex.join([shown, *args]),
            end=now_utc(),
            exit_status=status,
            argv=(shown, *args),
        )
    )
    return status


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if len(words) < 2:
        print("usage: python -m drills.training.shim EXERCISE PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    try:
        exercise = Exercise(Path(words[0]))
        return run_command(exercise, words[1], words[2:], Out())
    except DrillError as exc:
        print(f"[training shell] {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
