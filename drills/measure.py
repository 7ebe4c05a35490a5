"""Turn a drill's timeline and canary log into measurements: RTO, TTD, downtime, RPO, loss, phases.

These are the numbers a drill exists to produce, so they are pure functions over data already
collected (no clock, no I/O): every definition in DESIGN.md's "Measurement" section lives here once,
each as a small helper that can be tested alone. A number that cannot be taken comes out as None
with a reason in `Measurements.unmeasured`, never as a guess.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from drills.errors import MeasurementError
from drills.models import (
    PRIMARY_STORE,
    ActivityMark,
    CanaryLog,
    Measurements,
    Phase,
    PhaseStats,
    Sample,
    Stage,
    StoreLoss,
)

__all__ = [
    "NEVER_RECOVERED",
    "NO_DETECTABLE_FAILURE",
    "NO_FAULT",
    "CanaryLoss",
    "Recovery",
    "answered_again_at",
    "compute",
    "detected_at",
    "fault_at",
    "loss_window_seconds",
    "measure_canary",
    "p95",
    "phase_bounds",
    "phase_stats",
    "recovered_at",
    "recovery",
    "recovery_started_at",
    "resolution_seconds",
    "steady_latency",
    "store_losses",
    "worst_loss",
]

NO_FAULT = "the fault never ran"
FAILED_STATUS = "failed"  # chaoslib's run status of an activity that raised
NO_DETECTABLE_FAILURE = "the fault produced no detectable failure"
NEVER_RECOVERED = "did not recover before the drill ended"


def _critical(samples: Iterable[Sample]) -> list[Sample]:
    return sorted((s for s in samples if s.critical), key=lambda s: (s.t, s.signal))


def fault_at(activities: Sequence[ActivityMark]) -> float | None:
    """Start of the first method activity tagged `fault`, or None when no fault ran.

    A fault activity that failed (refused by the target: an RBAC 403, a missing object) did not
    inject its fault: it does not count, so a later outage, caused by a recovery step, is never
    timed as the fault's RTO.
    """
    starts = [
        a.start
        for a in activities
        if a.is_fault and a.stage is Stage.METHOD and a.status != FAILED_STATUS
    ]
    return min(starts) if starts else None


def detected_at(samples: Sequence[Sample], fault_at: float | None) -> float | None:
    """The instant the first failing critical sample known at or after `fault_at` was known to
    have failed (its error answer or its timeout): a monitor cannot know sooner. Failures known
    before the fault are the system's own trouble, not the fault's."""
    if fault_at is None:
        return None
    failed = [s.known_at for s in samples if s.critical and not s.ok and s.known_at >= fault_at]
    return min(failed) if failed else None


def steady_latency(samples: Sequence[Sample], fault_at: float | None) -> dict[str, float]:
    """Per signal, the median time from send to a healthy answer before the fault: how long the
    target takes to answer when nothing is wrong."""
    by_signal: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        if s.ok and (fault_at is None or s.t < fault_at):
            by_signal[s.signal].append(s.known_at - s.t)
    return {signal: statistics.median(values) for signal, values in by_signal.items()}


def answered_again_at(sample: Sample, steady: dict[str, float]) -> float:
    """When the target answered `sample`: its known time less the signal's usual answer time,
    never before it was sent. A probe that sat in a frozen server's queue and was answered after
    the thaw proves the server was back at the answer, not at the send."""
    return max(sample.t, sample.known_at - steady.get(sample.signal, 0.0))


@dataclass(frozen=True)
class Recovery:
    """When the target recovered (`at`), or why that cannot be said (`reason`)."""

    at: float | None
    reason: str | None


def recovery(samples: Sequence[Sample], fault_at: float | None, sustain: int = 3) -> Recovery:
    """When the target answered again after the last failure, if that was sustained.

    Failures are the failed critical samples known at or after `fault_at`; L is the send time of
    the last of them. A signal is known healthy again only from its first sample sent after its
    own last failure (between the two its state is unseen: a check that hung until its timeout
    says nothing about that time), so every signal is healthy from the latest of those first
    healthy samples, each timed by when it was answered (`answered_again_at`). It counts provided
    every critical signal seen in the drill then has at least `sustain` samples sent after L
    (all healthy, since L was the last failure).
    """
    if sustain < 1:
        raise MeasurementError(f"sustain must be at least 1 sample, got {sustain}")
    if fault_at is None:
        return Recovery(None, NO_FAULT)
    critical = _critical(samples)
    failed = [s for s in critical if not s.ok and s.known_at >= fault_at]
    if not failed:
        return Recovery(None, NO_DETECTABLE_FAILURE)
    last_failure = max(s.t for s in failed)
    after = [s for s in critical if s.t > last_failure]
    if not after:
        return Recovery(None, NEVER_RECOVERED)
    counts = dict.fromkeys(sorted({s.signal for s in critical}), 0)
    for s in after:
        counts[s.signal] += 1
    short = {signal: n for signal, n in counts.items() if n < sustain}
    if short:
        detail = ", ".join(f"{signal} had {n}" for signal, n in short.items())
        return Recovery(
            None,
            f"{NEVER_RECOVERED}: not sustained ({detail} healthy samples after the last failure,"
            f" {sustain} needed)",
        )
    steady = steady_latency(critical, fault_at)
    back_at = []
    for signal in counts:
        last_own = max((s.t for s in failed if s.signal == signal), default=None)
        if last_own is not None:
            first_ok = min(
                (s for s in critical if s.signal == signal and s.t > last_own), key=lambda s: s.t
            )
            back_at.append(answered_again_at(first_ok, steady))
    return Recovery(max(back_at), None)


def recovered_at(
    samples: Sequence[Sample], fault_at: float | None, sustain: int = 3
) -> float | None:
    """Run time the target recovered (see `recovery`), or None."""
    return recovery(samples, fault_at, sustain).at


def resolution_seconds(
    samples: Sequence[Sample], start: float | None = None, end: float | None = None
) -> float | None:
    """The sampling interval actually achieved between `start` and `end` (the outage, when
    given): the median gap between consecutive sends of the same critical signal, pooled over
    all critical signals."""
    by_signal: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        inside = (start is None or s.t >= start) and (end is None or s.t <= end)
        if s.critical and inside:
            by_signal[s.signal].append(s.t)
    gaps: list[float] = []
    for times in by_signal.values():
        times.sort()
        gaps.extend(b - a for a, b in pairwise(times))
    return statistics.median(gaps) if gaps else None


@dataclass(frozen=True)
class CanaryLoss:
    """What the canary lost; None fields carry their reason in `unmeasured`."""

    writes_acknowledged: int | None
    writes_failed: int | None
    writes_lost: int | None
    writes_lost_after_fault: int | None
    writes_corrupted: int | None
    rpo_seconds: float | None
    unmeasured: dict[str, str]


def measure_canary(canary: CanaryLog | None, fault_at: float | None) -> CanaryLoss:
    """Loss, corruption and RPO from the acknowledged writes and what was read back."""
    loss_fields = ("writes_lost", "writes_lost_after_fault", "writes_corrupted", "rpo_seconds")
    if canary is None:
        reason = "no canary ran in this drill"
        every = ("writes_acknowledged", "writes_failed", *loss_fields)
        return CanaryLoss(None, None, None, None, None, None, dict.fromkeys(every, reason))
    acknowledged, failed = len(canary.acked), canary.failed
    if canary.readback is None:
        reason = canary.readback_error or "the canary could not be read back"
        return CanaryLoss(
            acknowledged, failed, None, None, None, None, dict.fromkeys(loss_fields, reason)
        )
    readback = canary.readback
    lost = [w for w in canary.acked if w.seq not in readback]
    corrupted = sum(1 for w in canary.acked if w.seq in readback and readback[w.seq] != w.checksum)
    if fault_at is None:
        reason = f"{NO_FAULT}: no point to measure loss from"
        unmeasured = {"writes_lost_after_fault": reason, "rpo_seconds": reason}
        return CanaryLoss(acknowledged, failed, len(lost), None, corrupted, None, unmeasured)
    after_fault = sum(1 for w in lost if w.sent_t >= fault_at)
    if not lost and not any(w.sent_t < fault_at for w in canary.acked):
        # nothing acknowledged before the fault: "nothing lost" would be a claim without evidence
        reason = "no canary write was acknowledged before the fault to measure loss against"
        return CanaryLoss(
            acknowledged, failed, 0, after_fault, corrupted, None, {"rpo_seconds": reason}
        )
    rpo = loss_window_seconds([w.sent_t for w in lost], fault_at, canary.interval_seconds or 0.0)
    return CanaryLoss(acknowledged, failed, len(lost), after_fault, corrupted, rpo, {})


_LOSS_FIELDS = ("writes_lost", "writes_lost_after_fault", "writes_corrupted", "rpo_seconds")


def store_losses(canary: CanaryLog | None, fault_at: float | None) -> dict[str, CanaryLoss]:
    """Per store, what it lost of the acknowledged writes (each measured as `measure_canary`
    measures PostgreSQL); empty when the canary was read back from PostgreSQL alone."""
    if canary is None or not canary.stores:
        return {}
    losses = {PRIMARY_STORE: measure_canary(canary, fault_at)}
    for other in canary.stores:
        view = replace(canary, readback=other.readback, readback_error=other.error, stores=())
        losses[other.store] = measure_canary(view, fault_at)
    return losses


def worst_loss(losses: Mapping[str, CanaryLoss]) -> CanaryLoss:
    """The worst of several stores' losses, figure by figure (the most writes lost, the longest
    loss window...), so the objectives judge the worst store. A figure some store could not
    measure is None, its reason naming that store."""
    if not losses:
        raise MeasurementError("no store to take the worst loss of")
    first = next(iter(losses.values()))
    worst: dict[str, Any] = {}
    unmeasured: dict[str, str] = {}
    for name in _LOSS_FIELDS:
        missing = {
            s: loss.unmeasured.get(name, "")
            for s, loss in losses.items()
            if getattr(loss, name) is None
        }
        if not missing:
            worst[name] = max(getattr(loss, name) for loss in losses.values())
            continue
        worst[name] = None
        reasons = set(missing.values())
        if len(missing) == len(losses) and len(reasons) == 1:
            unmeasured[name] = reasons.pop()
        else:
            unmeasured[name] = "; ".join(f"{s}: {why}" for s, why in missing.items())
    return CanaryLoss(
        first.writes_acknowledged,
        first.writes_failed,
        worst["writes_lost"],
        worst["writes_lost_after_fault"],
        worst["writes_corrupted"],
        worst["rpo_seconds"],
        unmeasured,
    )


def loss_window_seconds(lost_sent: Sequence[float], fault_at: float, interval: float) -> float:
    """The span of acknowledged history that is gone (RPO), whichever side of the fault it is on.

    From the oldest lost write to the fault or to the newest lost write, whichever is later; 0
    when nothing is lost. A crash loses the writes just before the fault (the span ends at the
    fault); a point-in-time restore after a corruption throws away acknowledged writes made after
    it (the span ends at the newest of them). Lost writes that span no time (one write sent at or
    after the fault) count as one canary interval, the canary's resolution: a loss is never "0 s".
    """
    if not lost_sent:
        return 0.0
    span = max(fault_at, max(lost_sent)) - min(lost_sent)
    return span if span > 0 else interval


def recovery_started_at(activities: Sequence[ActivityMark]) -> float | None:
    """Start of the first method activity, not tagged `fault`, that starts after every fault
    activity of the method has started: where the runbook's recovery begins."""
    faults = [a.start for a in activities if a.is_fault and a.stage is Stage.METHOD]
    if not faults:
        return None
    last_fault = max(faults)
    later = [
        a.start
        for a in activities
        if a.stage is Stage.METHOD and not a.is_fault and a.start > last_fault
    ]
    return min(later) if later else None


def rollbacks_started_at(activities: Sequence[ActivityMark]) -> float | None:
    """Start of the first rollback activity, if any ran."""
    starts = [a.start for a in activities if a.stage is Stage.ROLLBACK]
    return min(starts) if starts else None


def judged_window(
    samples: Sequence[Sample],
    activities: Sequence[ActivityMark],
    fault: float | None,
    ended_at: float,
    sustain: int,
) -> tuple[list[Sample], float]:
    """The samples (and end) that the drill is judged on.

    Rollbacks clean up after the drill: when the system had already recovered, and stayed
    recovered, before they started, a disruption they cause themselves (a fail-back switchover,
    say) is not the drill's outage and must not stretch its RTO. When it had not recovered by
    then, the rollbacks are part of the recovery and everything counts.
    """
    cutoff = rollbacks_started_at(activities)
    if cutoff is None or fault is None:
        return list(samples), ended_at
    before = [s for s in samples if s.t < cutoff]
    if recovery(before, fault, sustain).at is None:
        return list(samples), ended_at
    return before, cutoff


def phase_bounds(
    started_at: float,
    ended_at: float,
    fault_at: float | None,
    recovery_start: float | None,
    recovered_at: float | None,
) -> list[tuple[Phase, float, float]]:
    """Each phase present in this drill as (phase, start, end); every interval is half-open
    except the last, which includes `ended_at`. Empty phases are left out."""
    if fault_at is None:
        return [(Phase.STEADY, started_at, ended_at)]
    end_of_trouble = ended_at if recovered_at is None else recovered_at
    fault_end = end_of_trouble if recovery_start is None else min(recovery_start, end_of_trouble)
    bounds = [
        (Phase.STEADY, started_at, fault_at),
        (Phase.FAULT, fault_at, fault_end),
        (Phase.RECOVERY, fault_end, end_of_trouble),
    ]
    if recovered_at is not None:
        bounds.append((Phase.AFTER, recovered_at, ended_at))
    return [(phase, lo, hi) for phase, lo, hi in bounds if hi > lo or phase is Phase.STEADY]


def p95(values: Sequence[float]) -> float | None:
    """Nearest-rank 95th percentile, or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def phase_stats(phase: Phase, samples: Sequence[Sample]) -> PhaseStats:
    """Requests, errors, error rate and p95 latency of the probe traffic among `samples`."""
    traffic = [s for s in samples if s.latency_seconds is not None]
    latencies = [s.latency_seconds for s in samples if s.latency_seconds is not None]
    errors = sum(1 for s in traffic if not s.ok)
    return PhaseStats(
        phase=phase,
        requests=len(traffic),
        errors=errors,
        error_rate=errors / len(traffic) if traffic else None,
        p95_latency_seconds=p95(latencies),
    )


def _phases(
    samples: Sequence[Sample], bounds: list[tuple[Phase, float, float]], unmeasured: dict[str, str]
) -> dict[Phase, PhaseStats]:
    phases: dict[Phase, PhaseStats] = {}
    fault = bounds[0][2] if len(bounds) > 1 else None

    def placed_at(s: Sample) -> float:
        # a probe sent just before the fault whose failure was known after it failed because
        # of the fault (its answer was cut by the crash): fault traffic, not steady-state's
        if fault is not None and not s.ok and s.t < fault <= s.known_at:
            return s.known_at
        return s.t

    for i, (phase, lo, hi) in enumerate(bounds):
        last = i == len(bounds) - 1
        inside = [
            s
            for s in samples
            if lo <= placed_at(s) and (placed_at(s) <= hi if last else placed_at(s) < hi)
        ]
        stats = phase_stats(phase, inside)
        phases[phase] = stats
        if stats.requests == 0:
            for name in ("error_rate", "p95_latency_seconds"):
                unmeasured[f"phases.{phase.value}.{name}"] = "no probe traffic in this phase"
    return phases


def compute(
    samples: Sequence[Sample],
    activities: Sequence[ActivityMark],
    canary: CanaryLog | None,
    *,
    started_at: float,
    ended_at: float,
    sustain: int = 3,
) -> Measurements:
    """Every measurement of one drill, from its timeline (in any order) and its canary log."""
    samples = sorted(samples, key=lambda s: (s.t, s.signal))
    unmeasured: dict[str, str] = {}
    fault = fault_at(activities)
    samples, ended_at = judged_window(samples, activities, fault, ended_at, sustain)
    detected = detected_at(samples, fault)
    found = recovery(samples, fault, sustain)
    recovered = found.at
    if fault is None:
        refused = [a.name for a in activities if a.is_fault and a.status == FAILED_STATUS]
        unmeasured["fault_at"] = (
            f"the fault step failed ({', '.join(refused)}): the target refused it"
            if refused
            else "no activity tagged 'fault' ran in the method"
        )
    detect_reason = NO_FAULT if fault is None else NO_DETECTABLE_FAILURE
    if detected is None:
        unmeasured["detected_at"] = detect_reason
        unmeasured["time_to_detect_seconds"] = detect_reason
    if recovered is None:
        reason = found.reason or NEVER_RECOVERED
        for name in ("recovered_at", "rto_seconds", "downtime_seconds"):
            unmeasured[name] = reason
    resolution = resolution_seconds(
        samples, fault, recovered if recovered is not None else ended_at
    )
    if resolution is None:
        unmeasured["resolution_seconds"] = (
            "fewer than two samples of any critical signal during the outage"
        )
    per_store = store_losses(canary, fault)
    loss = worst_loss(per_store) if per_store else measure_canary(canary, fault)
    unmeasured.update(loss.unmeasured)
    bounds = phase_bounds(started_at, ended_at, fault, recovery_started_at(activities), recovered)
    present = {phase for phase, _, _ in bounds}
    for phase in Phase:
        if phase not in present:
            unmeasured[f"phases.{phase.value}"] = _absent_phase_reason(phase, fault, recovered)
    return Measurements(
        fault_at=fault,
        detected_at=detected,
        recovered_at=recovered,
        rto_seconds=None if fault is None or recovered is None else recovered - fault,
        time_to_detect_seconds=None if fault is None or detected is None else detected - fault,
        downtime_seconds=None if detected is None or recovered is None else recovered - detected,
        rpo_seconds=loss.rpo_seconds,
        writes_acknowledged=loss.writes_acknowledged,
        writes_failed=loss.writes_failed,
        writes_lost=loss.writes_lost,
        writes_lost_after_fault=loss.writes_lost_after_fault,
        writes_corrupted=loss.writes_corrupted,
        resolution_seconds=resolution,
        phases=_phases(samples, bounds, unmeasured),
        unmeasured=unmeasured,
        stores={
            store: StoreLoss(
                lost.writes_lost,
                lost.writes_lost_after_fault,
                lost.writes_corrupted,
                lost.rpo_seconds,
                dict(lost.unmeasured),
            )
            for store, lost in per_store.items()
        },
    )


def _absent_phase_reason(phase: Phase, fault: float | None, recovered: float | None) -> str:
    if fault is None:
        return NO_FAULT
    if phase is Phase.AFTER and recovered is None:
        return NEVER_RECOVERED
    return "this phase took no time in this drill"
