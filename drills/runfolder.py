"""The run folder of one drill: checked before anything starts, removed again if a refusal left it
empty.

A drill that cannot write its folder must say so before it starts a sandbox or injects a fault,
not after. And a folder must hold one run: `--out` pointing at an earlier run's folder would mix
two timelines and two canary journals under one report, so a folder that already holds anything
is refused (give a new one; the default is always a new folder under `$DRILLS_HOME/runs`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from drills.errors import InputError

__all__ = ["RunFolder", "prepare_run_folder"]


@dataclass
class RunFolder:
    """A checked, writable, empty run folder, and the directories made for it (deepest first)."""

    path: Path
    created: list[Path] = field(default_factory=list)

    def remove_if_unused(self) -> None:
        """Remove what was made for this run if nothing was written into it (a refusal)."""
        for directory in self.created:
            try:
                directory.rmdir()  # only ever removes an empty directory
            except OSError:
                return


def prepare_run_folder(path: Path, label: str = "--out") -> RunFolder:
    """Make `path` ready for a new run, or raise InputError (one line, exit 2) saying why."""
    path = path.expanduser().absolute()
    missing: list[Path] = []
    existing = path
    while not existing.exists() and existing != existing.parent:
        missing.append(existing)
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file" if existing == path else f"is under {existing}, which is a file"
        raise InputError(f"{label} {path} {where}")
    if existing == path and any(path.iterdir()):
        raise InputError(
            f"{label} {path} is not empty (an earlier run's folder?): give a new folder for "
            "each run"
        )
    folder = RunFolder(path, missing)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        folder.remove_if_unused()
        raise InputError(f"{label} {path} is not writable: {exc.strerror or exc}") from None
    return folder
