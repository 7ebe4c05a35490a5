"""Run-relative seconds, turned into what a reader needs: ISO-8601 UTC instants and offsets.

A `DrillResult` keeps every time as seconds on the run's clock plus one UTC anchor; every report
format converts them the same way through this one small object, so the JSON, the Markdown, the
HTML and the incident texts can never disagree about when something happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from drills.clock import RunClock, iso
from drills.models import DrillResult


@dataclass(frozen=True)
class Timebase:
    """Converts run time `t` to ISO UTC (`iso`) and to seconds from the start (`offset`)."""

    clock: RunClock
    started_at: float

    @classmethod
    def of(cls, result: DrillResult) -> Timebase:
        """The timebase of a finished run (only its UTC anchor matters, not the monotonic one)."""
        anchor = datetime.fromisoformat(result.anchor_utc)
        if anchor.tzinfo is None:
            anchor = anchor.replace(tzinfo=UTC)
        return cls(
            clock=RunClock(anchor_utc=anchor, anchor_monotonic_ns=0), started_at=result.started_at
        )

    def iso(self, t: float | None) -> str | None:
        """ISO-8601 UTC with microseconds and a `Z`, or None for an unknown time."""
        if t is None:
            return None
        return iso(self.clock.to_utc(t))

    def offset(self, t: float) -> float:
        """Seconds from the start of the run."""
        return t - self.started_at
