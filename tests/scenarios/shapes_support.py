"""A team's own probe, tolerance and control, as the conformance experiments reference them.

Plain module functions with Chaos Toolkit's fixed names and signatures: this is what a team's
experiment imports beside ours. The control appends each activity it sees to the file named by
DRILLS_SHAPES_CONTROL_LOG, so a test can tell it ran under both `chaos run` and `drills run`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CONTROL_LOG = "DRILLS_SHAPES_CONTROL_LOG"


def is_true(value: Any = None) -> bool:
    """A probe tolerance: the probe's value must be exactly True."""
    return value is True


def has_team_token(secrets: dict[str, Any] | None = None) -> bool:
    """The `team` secret reached the activity (its value is never returned)."""
    return bool((secrets or {}).get("token"))


def before_activity_control(context: dict[str, Any], **kwargs: Any) -> None:
    path = os.environ.get(CONTROL_LOG)
    if path:
        with Path(path).open("a", encoding="utf-8") as log:
            log.write(f"{context.get('name')}\n")
