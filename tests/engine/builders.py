"""Small builders of timelines and results for the engine's tests (real dataclasses, no mocks)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from drills.models import (
    ActivityMark,
    DrillRef,
    DrillResult,
    Measurements,
    RunStatus,
    Sample,
    Stage,
    TargetRef,
    Verdict,
)


def fault_mark(start: float, end: float | None = None, name: str = "kill-db") -> ActivityMark:
    return ActivityMark(name, "action", Stage.METHOD, start, end, tags=("fault",))


def method_mark(start: float, end: float | None = None, name: str = "restart-db") -> ActivityMark:
    return ActivityMark(name, "action", Stage.METHOD, start, end)


def grid(
    signal: str,
    start: float,
    end: float,
    interval: float,
    down: Iterable[tuple[float, float]] = (),
    *,
    latency_seconds: float | None = None,
    critical: bool = True,
) -> list[Sample]:
    """Samples of `signal` every `interval` from `start` while t < `end`, failing inside any
    half-open window of `down`."""
    windows = list(down)
    samples: list[Sample] = []
    k = 0
    while (t := start + k * interval) < end:
        ok = not any(lo <= t < hi for lo, hi in windows)
        samples.append(Sample(t, signal, ok, latency_seconds, critical))
        k += 1
    return samples


def measurements(**overrides: Any) -> Measurements:
    """A measured, recovered drill: fault at 10 s, detected at 10.5 s, recovered at 40 s."""
    base = Measurements(
        fault_at=10.0,
        detected_at=10.5,
        recovered_at=40.0,
        rto_seconds=30.0,
        time_to_detect_seconds=0.5,
        downtime_seconds=29.5,
        rpo_seconds=0.0,
        writes_acknowledged=100,
        writes_failed=3,
        writes_lost=0,
        writes_lost_after_fault=0,
        writes_corrupted=0,
        resolution_seconds=0.1,
    )
    return replace(base, **overrides)


def result(
    run_id: str = "run-1",
    *,
    scenario: str = "database-failover",
    target: str = "sandbox",
    anchor_utc: str = "2025-03-01T12:00:00.000000Z",
    started_at: float = 0.0,
    ended_at: float = 60.0,
    status: RunStatus = RunStatus.COMPLETED,
    verdict: Verdict = Verdict.MET,
    m: Measurements | None = None,
) -> DrillResult:
    return DrillResult(
        run_id=run_id,
        drill=DrillRef(
            scenario, scenario.replace("-", " ").title(), f"experiments/{scenario}.yaml"
        ),
        target=TargetRef(target, "sandbox"),
        anchor_utc=anchor_utc,
        started_at=started_at,
        ended_at=ended_at,
        status=status,
        verdict=verdict,
        verdict_reason="because",
        measurements=m if m is not None else measurements(),
        objectives=(),
        activities=(),
    )
