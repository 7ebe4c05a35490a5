"""How fast the monitoring pipeline runs, at the runbook's pace or compressed by a time scale.

The runbook's `for:` durations are minutes. A drill at scale 1 uses them as they are, with the
intervals a production Prometheus and Alertmanager commonly use; a sandbox drill may compress every
duration by a stated factor (`time_scale` 0.05 makes "for > 1 minute" 3 s) so that it finishes in
about a minute. Intervals never drop below one second (Prometheus and a busy 2-core machine).

The bound an alert must meet, counted from its fault: its `for`, plus two scrape intervals (the
scrape just before the fault shows nothing; the next one may have caught only a sliver of it), plus
one more for a rule over a window (a rate or an increase: the fault's samples must outweigh the
window's older ones), plus two evaluation intervals (the rule turns pending at the next evaluation
and fires at an evaluation), plus Alertmanager's `group_wait` for the notification.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from drills.errors import InputError

__all__ = ["MIN_INTERVAL_SECONDS", "REAL", "Timing"]

MIN_INTERVAL_SECONDS = 1.0
MIN_TIME_SCALE = 0.001


@dataclass(frozen=True)
class Timing:
    time_scale: float
    scrape_interval_seconds: float
    evaluation_interval_seconds: float
    group_wait_seconds: float
    group_interval_seconds: float
    repeat_interval_seconds: float

    @classmethod
    def at_scale(cls, time_scale: float) -> Timing:
        """The runbook's pace (1.0) or compressed by `time_scale` (0 < scale <= 1)."""
        if (
            isinstance(time_scale, bool)
            or not isinstance(time_scale, int | float)
            or not math.isfinite(time_scale)
            or not MIN_TIME_SCALE <= time_scale <= 1.0
        ):
            raise InputError(
                f"time scale must be a number from {MIN_TIME_SCALE} to 1, got {time_scale!r}"
            )
        scale = float(time_scale)

        def interval(seconds: float) -> float:
            return max(MIN_INTERVAL_SECONDS, round(seconds * scale, 3))

        return cls(
            time_scale=scale,
            scrape_interval_seconds=interval(REAL.scrape_interval_seconds),
            evaluation_interval_seconds=interval(REAL.evaluation_interval_seconds),
            group_wait_seconds=round(REAL.group_wait_seconds * scale, 3),
            group_interval_seconds=interval(REAL.group_interval_seconds),
            repeat_interval_seconds=interval(REAL.repeat_interval_seconds),
        )

    def scaled(self, seconds: float) -> float:
        """A runbook duration at this time scale."""
        return round(seconds * self.time_scale, 3)

    def range_window(self, seconds: float) -> float:
        """A rate window at this scale, never under four scrapes (a rate needs two samples, with room for jitter)."""
        return max(self.scaled(seconds), 4 * self.scrape_interval_seconds)

    def firing_bound_seconds(self, for_seconds: float, windowed: bool = False) -> float:
        """Latest a rule with this (scaled) `for` may start firing after its fault."""
        scrapes = 3 if windowed else 2
        return (
            for_seconds
            + scrapes * self.scrape_interval_seconds
            + 2 * self.evaluation_interval_seconds
        )

    def notification_bound_seconds(self, for_seconds: float, windowed: bool = False) -> float:
        """Latest its Alertmanager notification may arrive after the fault."""
        return self.firing_bound_seconds(for_seconds, windowed) + self.group_wait_seconds

    def to_json(self) -> dict[str, float]:
        return {
            "time_scale": self.time_scale,
            "scrape_interval_seconds": self.scrape_interval_seconds,
            "evaluation_interval_seconds": self.evaluation_interval_seconds,
            "group_wait_seconds": self.group_wait_seconds,
            "group_interval_seconds": self.group_interval_seconds,
        }


REAL = Timing(
    time_scale=1.0,
    scrape_interval_seconds=15.0,
    evaluation_interval_seconds=15.0,
    group_wait_seconds=30.0,
    group_interval_seconds=30.0,
    repeat_interval_seconds=4 * 3600.0,
)
