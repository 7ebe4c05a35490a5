"""`drills train shell`: a shell in which the runbook's literal commands act on the exercise.

The exercise folder gets launchers: `bin/kubectl`, `bin/curl` and `bin/drills` first on the PATH,
and `work/scripts/dr/*.sh`, `work/scripts/ops/production-readiness-check.sh` under the shell's
working folder, so `./scripts/dr/restore-redis.sh` works as the runbook writes it. On a Kubernetes
target only `kubectl` and `curl` get launchers, which record the command and run the real program.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import drills
from drills.training.exercise import Exercise
from drills.training.scripts import SCRIPT_FOLDERS, SCRIPTS
from drills.training.shim import SCRIPT_PREFIX

__all__ = ["install_launchers", "open_shell"]

PROMPT = r"[game day] \w \$ "
_ROOT = Path(drills.__file__).resolve().parent.parent  # where `drills`, `probes`, `actions` live


def _launcher(path: Path, exercise: Exercise, *command: str) -> None:
    words = " ".join(shlex.quote(word) for word in command)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "#!/bin/sh\n"
        f"PYTHONPATH={shlex.quote(str(_ROOT))}${{PYTHONPATH:+:$PYTHONPATH}}\n"
        "export PYTHONPATH\n"
        f'exec {shlex.quote(sys.executable)} {words} "$@"\n'
    )
    path.chmod(0o755)


def install_launchers(exercise: Exercise, shimmed: bool) -> None:
    """Write the exercise's launchers (see the module docstring)."""
    shim = ("-m", "drills.training.shim", str(exercise.path))
    for program in ("kubectl", "curl"):
        _launcher(exercise.bin_dir / program, exercise, *shim, program)
    _launcher(exercise.bin_dir / "drills", exercise, "-m", "drills")
    exercise.work_dir.mkdir(parents=True, exist_ok=True)
    if not shimmed:
        return
    for name in SCRIPTS:
        folder = SCRIPT_FOLDERS.get(name, "scripts/dr")
        _launcher(exercise.work_dir / folder / name, exercise, *shim, f"{SCRIPT_PREFIX}{name}")


def open_shell(exercise: Exercise, command: str | None = None) -> int:
    """An interactive shell in the exercise's working folder, or one `command` run by it."""
    env = dict(os.environ)  # the trainee's own environment, with the launchers first
    env["PATH"] = os.pathsep.join([str(exercise.bin_dir), env.get("PATH", "")])
    env["PS1"] = PROMPT
    shell = shutil.which("bash") or "/bin/sh"
    if command is not None:
        return subprocess.call([shell, "-c", command], cwd=exercise.work_dir, env=env)
    argv = [shell, "--norc", "-i"] if shell.endswith("bash") else [shell, "-i"]
    return subprocess.call(argv, cwd=exercise.work_dir, env=env)
