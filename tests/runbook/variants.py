"""The runbook with one injected drift at a time, and a scripts tree that holds its scripts."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from drills.runbook import Runbook, read_runbook_text
from tests.runbook.conftest import RUNBOOK


@dataclass(frozen=True)
class Drift:
    name: str
    line: int  # the runbook line changed (or whose script is removed)
    old: str
    new: str
    expect: str  # words the drift row's detail must hold


DRIFTS = (
    Drift(
        "renamed deployment",
        120,
        "deployment/maestro-control-plane",
        "deployment/maestro-cp",
        "deployment/maestro-cp not found",
    ),
    Drift("wrong namespace", 128, "-n intelgraph-prod", "-n intelgraph-prd", "intelgraph-prd"),
    Drift(
        "removed endpoint",
        54,
        "/api/resilience/health",
        "/api/resilience/status",
        "route not found",
    ),
    Drift(
        "unknown breaker",
        193,
        "circuit-breakers/postgres/reset",
        "circuit-breakers/postgresql/reset",
        "breaker postgresql not found",
    ),
)
MISSING_SCRIPT = Drift(
    "missing script", 316, "./scripts/dr/verify-backups.sh", "", "verify-backups.sh not found"
)


def with_drift(drift: Drift) -> Runbook:
    lines = RUNBOOK.read_text(encoding="utf-8").split("\n")
    assert drift.old in lines[drift.line - 1], (drift, lines[drift.line - 1])
    lines[drift.line - 1] = lines[drift.line - 1].replace(drift.old, drift.new)
    return read_runbook_text("\n".join(lines), RUNBOOK)


def scripts_tree(root: Path, book: Runbook) -> Path:
    """Every script and manifest the runbook names, under `root` (scripts executable)."""
    from drills.runbook.steps import KubectlStep, ScriptStep

    for step in book.steps:
        if isinstance(step, ScriptStep):
            path = root / step.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("#!/bin/sh\nexit 0\n")
            path.chmod(path.stat().st_mode | stat.S_IXUSR)
        elif isinstance(step, KubectlStep):
            for name in step.files:
                path = root / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    return root
