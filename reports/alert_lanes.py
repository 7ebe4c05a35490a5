"""The chart's alert lanes: when each alert was pending and firing during a drill.

A drill reports an alert's timeline as measurements named `alert_<name>_pending_at`,
`alert_<name>_firing_at` and `alert_<name>_resolved_at` (UTC timestamps; the monitoring-alerts
drill does, for each runbook condition; any other drill does from the target's Prometheus, see
`drills.monitoring.observed`). Each alert that went pending or fired becomes one row: pending from
its pending time, firing from its firing time, until it resolved (or the end of the chart). An alert
that was pending and never fired shows too: an outage monitoring saw but would not have paged for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from drills.models import DrillResult

__all__ = ["AlertRow", "alert_rows"]

_STATE = re.compile(r"^alert_(?P<name>.+)_(?:pending|firing)_at$")


@dataclass(frozen=True)
class AlertRow:
    """One alert's lane, in run time (seconds from the run's anchor)."""

    name: str
    pending: float | None
    firing: float | None  # None: pending only, never fired
    resolved: float | None

    @property
    def began(self) -> float:
        began = self.pending if self.pending is not None else self.firing
        assert began is not None  # a row has one or the other
        return began


def alert_rows(result: DrillResult) -> tuple[AlertRow, ...]:
    """Every reported alert that went pending or fired, in order of when it began."""
    anchor = _instant(result.anchor_utc)
    extra = result.measurements.extra
    if anchor is None:
        return ()

    def run_time(key: str) -> float | None:
        instant = _instant(extra.get(key))
        return None if instant is None else (instant - anchor).total_seconds()

    names = dict.fromkeys(m.group("name") for m in map(_STATE.match, extra) if m is not None)
    rows: list[AlertRow] = []
    for name in names:
        pending = run_time(f"alert_{name}_pending_at")
        firing = run_time(f"alert_{name}_firing_at")
        if pending is None and firing is None:
            continue
        rows.append(
            AlertRow(
                name=name.replace("_", "-"),
                pending=pending,
                firing=firing,
                resolved=run_time(f"alert_{name}_resolved_at"),
            )
        )
    return tuple(sorted(rows, key=lambda row: row.began))


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None
