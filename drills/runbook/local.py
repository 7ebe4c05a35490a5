"""Checks that need no target: scripts and manifests on disk, and the stated objectives.

Scripts and manifests are looked up under `--scripts-dir` (the directory the runbook's relative
paths start from: `./scripts/dr/x.sh` is DIR/scripts/dr/x.sh). Objectives are compared with the
thresholds drills will hold a drill to on this target (the profile's, or the defaults).
"""

from __future__ import annotations

import math
import os
from pathlib import Path, PurePosixPath

from drills.objectives import ObjectiveTargets
from drills.runbook.findings import Answer, cannot, drift, not_found, ok
from drills.runbook.model import RunbookObjective
from drills.runbook.steps import ScriptStep

__all__ = ["check_objective", "check_script", "find_file"]

_SHELLS = frozenset({"bash", "sh"})


def find_file(path: str, root: Path, *, executable: bool) -> tuple[Path | None, Answer]:
    """The file `path` names under `root`, or None with a drift answer (and a near name)."""
    relative = PurePosixPath(path)
    if relative.is_absolute():
        return None, cannot(f"{path} is an absolute path on the runbook's machine")
    found = root / relative
    if found.is_file():
        if executable and not os.access(found, os.X_OK):
            return None, drift(f"{path} exists but is not executable (chmod +x)")
        return found, ok(f"{path} exists" + (" and is executable" if executable else ""))
    siblings = [
        str(PurePosixPath(*p.relative_to(root).parts)) for p in root.rglob("*") if p.is_file()
    ]
    wanted = str(PurePosixPath(*[part for part in relative.parts if part != "."]))
    message, suggestion = not_found(path, wanted, siblings, f"under {root}")
    return None, drift(message, suggestion)


def check_script(step: ScriptStep, scripts_dir: Path | None) -> Answer:
    if scripts_dir is None:
        return cannot("no --scripts-dir given to look for scripts")
    through_shell = PurePosixPath(step.argv[0]).name in _SHELLS
    return find_file(step.path, scripts_dir, executable=not through_shell)[1]


def _text(field: str, value: float | bool) -> str:
    if isinstance(value, bool):
        return "required" if value else "not required"
    if field.endswith("_seconds"):
        return f"{value:g} s"
    return f"{value:.4g}"


def check_objective(objective: RunbookObjective, targets: ObjectiveTargets, source: str) -> Answer:
    """Whether drills holds drills to the threshold the runbook states."""
    if objective.field is None:
        return cannot(f"drills has no {objective.label.split('(')[0].strip()} objective")
    if objective.value is None:
        return cannot(f"no threshold found in {objective.text!r}")
    held = getattr(targets, objective.field)
    stated = objective.value
    same = (
        stated == held
        if isinstance(held, bool) or isinstance(stated, bool)
        else math.isclose(float(stated), float(held), rel_tol=1e-9)
    )
    says = f"runbook {_text(objective.field, stated)}, {source} {_text(objective.field, held)}"
    return ok(says) if same else drift(f"{objective.field}: {says}")
