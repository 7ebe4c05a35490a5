"""Measurements only an activity can take, carried from its journal output into the result.

Some numbers come from inside the experiment rather than from the timeline: how long a circuit
breaker stayed open (watched by a probe polling every replica), a flood's own counts, a restore's
duration. An activity reports them by returning a mapping with a `drills_measurements` entry; after
the run they are merged into `Measurements.extra` (and so into report.json at the top level of
`measurements`). Only scalar values are taken, later activities win, and a name that would shadow a
core measurement is refused with a warning rather than breaking the report.
"""

from __future__ import annotations

import logging
import math
from dataclasses import fields, replace
from typing import Any

from drills.models import Measurements

__all__ = ["REPORT_KEY", "reported_measurements", "with_reported"]

logger = logging.getLogger("drills")

REPORT_KEY = "drills_measurements"

Scalar = float | int | str | None

_CORE = frozenset(f.name for f in fields(Measurements)) | {
    "fault_at",
    "detected_at",
    "recovered_at",
}


def _scalar(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, int | str)


def reported_measurements(journal: dict[str, Any]) -> dict[str, Scalar]:
    """Every `drills_measurements` entry in the outputs of the method and rollback activities."""
    found: dict[str, Scalar] = {}
    for activity in [*(journal.get("run") or []), *(journal.get("rollbacks") or [])]:
        output = activity.get("output") if isinstance(activity, dict) else None
        reported = output.get(REPORT_KEY) if isinstance(output, dict) else None
        if not isinstance(reported, dict):
            continue
        for name, value in reported.items():
            if not isinstance(name, str) or name in _CORE:
                logger.warning("reported measurement %r refused: it names a core field", name)
            elif not _scalar(value):
                logger.warning("reported measurement %r refused: not a number or text", name)
            else:
                found[name] = value
    return found


def with_reported(measured: Measurements, journal: dict[str, Any]) -> Measurements:
    """`measured` with the activities' reported measurements added to `extra`."""
    reported = reported_measurements(journal)
    if not reported:
        return measured
    return replace(measured, extra={**measured.extra, **reported})
