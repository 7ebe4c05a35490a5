"""A placeholder for a runbook step drills cannot perform yet (drafted by `drills runbook scaffold`).

A drafted experiment keeps every runbook step in order; a step with no probe or action behind it
becomes this probe, named `TODO-...`, so the draft validates and runs while saying plainly, in the
journal, which steps a person must still turn into real activities.
"""

from __future__ import annotations

from typing import Any

__all__ = ["manual_step"]


def manual_step(
    step: str,
    line: int = 0,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Does nothing: records that runbook step `step` (at `line`) still needs an activity."""
    return {"placeholder": True, "step": step, "line": line, "performed": False}
