"""The chart's alert lanes: when each alert was pending and firing during a drill.

A drill reports an alert's timeline as measurements named `alert_<name>_pending_at`,
`alert_<name>_firing_at` and `alert_<name>_resolved_at` (UTC timestamps; the monitoring-alerts
drill does, for each runbook condition). Each alert with a firing time becomes one row: pending
from its pending time, firing from its firing time until it resolved (or the end of the chart).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from drills.models import DrillResult

__all__ = ["AlertRow", "alert_rows"]

_FIRING = re.compile(r"^alert_(?P<name>.+)_firing_at$")


@dataclass(frozen=True)
class AlertRow:
    """One alert's lane, in run time (seconds from the run's anchor)."""

    name: str
    pending: float | None
    firing: float
    resolved: float | None


def alert_rows(result: DrillResult) -> tuple[AlertRow, ...]:
    """Every reported alert that fired, in order of firing."""
    anchor = _instant(result.anchor_utc)
    extra = result.measurements.extra
    if anchor is None:
        return ()

    def run_time(key: str) -> float | None:
        instant = _instant(extra.get(key))
        return None if instant is None else (instant - anchor).total_seconds()

    rows: list[AlertRow] = []
    for key in extra:
        match = _FIRING.match(key)
        if match is None:
            continue
        name = match.group("name")
        firing = run_time(key)
        if firing is None:
            continue
        rows.append(
            AlertRow(
                name=name.replace("_", "-"),
                pending=run_time(f"alert_{name}_pending_at"),
                firing=firing,
                resolved=run_time(f"alert_{name}_resolved_at"),
            )
        )
    return tuple(sorted(rows, key=lambda row: row.firing))


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None
