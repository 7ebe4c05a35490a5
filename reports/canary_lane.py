"""The canary's writes over time, as the rows of the timeline chart's canary lane.

The canary is the harness's own evidence of data loss: every write it sent was acknowledged or
failed, and every acknowledged one was later found, found altered, or lost. Drawn against the
signals, a reader sees when the target stopped taking writes, when it took them again, and which
acknowledged writes did not survive. Writes are placed at their send time (the time RPO is
measured on) and runs of them merge into spans, so tens of thousands of writes stay a few shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from drills.models import CanaryLog


class WriteFate(StrEnum):
    """What became of a canary write."""

    ACKNOWLEDGED = "acknowledged"
    FAILED = "not acknowledged"
    LOST = "lost"
    CORRUPTED = "corrupted"


@dataclass(frozen=True)
class Span:
    """A run of writes of one fate: sent within [start, end) of run time, `writes` of them."""

    start: float
    end: float
    writes: int


@dataclass(frozen=True)
class CanaryRow:
    """One row of the lane: a fate, how many writes had it, where they were sent, or why unknown."""

    fate: WriteFate
    total: int | None  # None: unknown (the canary was not read back)
    spans: tuple[Span, ...]
    note: str | None = None


def spans(times: Sequence[float], step: float, join: float) -> tuple[Span, ...]:
    """Writes sent at `times` grouped into spans: a gap of more than `join` seconds starts a new
    span, and each span reaches one `step` (the canary's interval) past its last write."""
    ordered = sorted(times)
    out: list[Span] = []
    for t in ordered:
        if out and t - (out[-1].end - step) <= join:
            last = out[-1]
            out[-1] = Span(last.start, t + step, last.writes + 1)
        else:
            out.append(Span(t, t + step, 1))
    return tuple(out)


def canary_rows(canary: CanaryLog, pixel_seconds: float) -> tuple[CanaryRow, ...]:
    """Acknowledged, not acknowledged, lost and (when any) corrupted writes.

    Writes closer together than 1.5 canary intervals, or than 2 pixels (`pixel_seconds` each),
    share a span: a steady stream is one bar, a pause in it a visible gap.
    """
    step = canary.interval_seconds or pixel_seconds
    join = max(1.5 * step, 2 * pixel_seconds)

    def spans_of(times: Sequence[float]) -> tuple[Span, ...]:
        return spans(times, step, join)

    acked = [w.sent_t for w in canary.acked]
    rows = [CanaryRow(WriteFate.ACKNOWLEDGED, len(acked), spans_of(acked))]
    note = None
    if canary.failed and len(canary.failed_sent) != canary.failed:
        note = "send times were not recorded"
    failed = list(canary.failed_sent)
    rows.append(CanaryRow(WriteFate.FAILED, canary.failed, spans_of(failed), note))
    if canary.readback is None:
        why = canary.readback_error or "the canary could not be read back"
        rows.append(CanaryRow(WriteFate.LOST, None, (), why))
        return tuple(rows)
    readback = canary.readback
    lost = [w.sent_t for w in canary.acked if w.seq not in readback]
    rows.append(CanaryRow(WriteFate.LOST, len(lost), spans_of(lost)))
    corrupted = [
        w.sent_t for w in canary.acked if w.seq in readback and readback[w.seq] != w.checksum
    ]
    if corrupted:
        rows.append(CanaryRow(WriteFate.CORRUPTED, len(corrupted), spans_of(corrupted)))
    return tuple(rows)
