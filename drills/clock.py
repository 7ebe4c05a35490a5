"""One clock per run: monotonic for durations, anchored once to UTC for timestamps.

Every timestamp in a drill (samples, activity marks, canary writes) comes from the same `RunClock`,
so differences between them are immune to wall-clock jumps (NTP steps, DST) and sub-millisecond
precise; UTC datetimes are derived from the single anchor taken when the run starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import overload


@dataclass(frozen=True)
class RunClock:
    """Seconds since the anchor (`now`), convertible to UTC (`to_utc`) and back (`from_utc`)."""

    anchor_utc: datetime = field(default_factory=lambda: datetime.now(UTC))
    anchor_monotonic_ns: int = field(default_factory=time.monotonic_ns)

    def now(self) -> float:
        """Seconds elapsed since the anchor, from the monotonic clock."""
        return (time.monotonic_ns() - self.anchor_monotonic_ns) / 1e9

    def to_utc(self, t: float) -> datetime:
        """The UTC instant of run-relative time `t`."""
        return self.anchor_utc + timedelta(seconds=t)

    def from_utc(self, instant: datetime) -> float:
        """Run-relative seconds of a UTC instant (for timestamps that come from elsewhere)."""
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
        return (instant - self.anchor_utc).total_seconds()

    def to_json(self) -> dict[str, object]:
        return {
            "anchor_utc": self.anchor_utc.isoformat(),
            "anchor_monotonic_ns": self.anchor_monotonic_ns,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> RunClock:
        return cls(
            anchor_utc=datetime.fromisoformat(str(data["anchor_utc"])),
            anchor_monotonic_ns=int(str(data["anchor_monotonic_ns"])),
        )


@overload
def iso(instant: datetime) -> str: ...
@overload
def iso(instant: None) -> None: ...
def iso(instant: datetime | None) -> str | None:
    """ISO-8601 UTC with microseconds and a `Z`, or None."""
    if instant is None:
        return None
    return instant.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
