"""Measurement math: RTO/TTD/downtime from a timeline, loss and RPO from a canary, phases."""

from __future__ import annotations

import random
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drills import measure
from drills.errors import MeasurementError
from drills.models import (
    AckedWrite,
    ActivityMark,
    CanaryLog,
    Measurements,
    Phase,
    Sample,
    Stage,
)
from tests.engine.builders import fault_mark, grid, method_mark

EPS = 1e-9


def canary_log(
    n: int,
    interval: float,
    *,
    missing: AbstractSet[int] = frozenset(),
    corrupt: AbstractSet[int] = frozenset(),
    failed: int = 0,
) -> CanaryLog:
    acked = tuple(AckedWrite(i, i * interval, i * interval + 0.001, f"c{i}") for i in range(n))
    readback = {
        w.seq: (w.checksum + "-bad" if w.seq in corrupt else w.checksum)
        for w in acked
        if w.seq not in missing
    }
    return CanaryLog(acked, failed, readback, interval_seconds=interval)


# --- properties --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outage:
    """A timeline with a known outage [a, b) after a fault, sampled every `interval`."""

    samples: list[Sample]
    fault: float
    a: float
    b: float
    interval: float
    sustain: int
    end: float


@st.composite
def outages(draw: st.DrawFn) -> Outage:
    interval = draw(st.floats(0.05, 1.0))
    offsets = draw(st.lists(st.floats(0.0, 0.999), min_size=1, max_size=3))
    fault = draw(st.floats(0.0, 5.0))
    a = fault + draw(st.floats(0.0, 3.0))
    b = a + draw(st.floats(1.5, 20.0)) * interval
    sustain = draw(st.integers(1, 5))
    end = b + (sustain + 1.5) * interval
    before = draw(st.booleans())  # a failure before the fault, which must be ignored
    down = [(a, b)] + ([(fault - 0.5, fault - 0.2)] if before and fault > 0.5 else [])
    samples = [
        s
        for i, off in enumerate(offsets)
        for s in grid(f"sig{i}", off * interval, end, interval, down)
    ]
    return Outage(samples, fault, a, b, interval, sustain, end)


@settings(max_examples=300, deadline=None)
@given(outages())
def test_known_outage_is_measured_within_one_interval(case: Outage) -> None:
    m = measure.compute(
        case.samples,
        [method_mark(0.0), fault_mark(case.fault), method_mark(case.b + 0.01)],
        None,
        started_at=0.0,
        ended_at=case.end,
        sustain=case.sustain,
    )
    assert m.fault_at == case.fault
    assert m.detected_at is not None and m.recovered_at is not None
    assert case.a - EPS <= m.detected_at <= case.a + case.interval + EPS
    assert case.b - EPS <= m.recovered_at <= case.b + case.interval + EPS
    assert m.rto_seconds is not None and m.time_to_detect_seconds is not None
    assert m.downtime_seconds is not None
    assert m.rto_seconds >= 0 and m.time_to_detect_seconds >= 0
    assert m.downtime_seconds <= m.rto_seconds + EPS
    assert abs(m.rto_seconds - (case.b - case.fault)) <= case.interval + EPS
    assert m.resolution_seconds == pytest.approx(case.interval)
    assert "rto_seconds" not in m.unmeasured


@settings(max_examples=100, deadline=None)
@given(outages(), st.randoms(use_true_random=False))
def test_input_order_does_not_matter(case: Outage, rnd: random.Random) -> None:
    samples = list(case.samples)
    activities = [fault_mark(case.fault), method_mark(case.b)]
    canary = canary_log(50, 0.1, missing={3, 7})
    first = measure.compute(samples, activities, canary, started_at=0.0, ended_at=case.end)
    rnd.shuffle(samples)
    activities.reverse()
    again = measure.compute(samples, activities, canary, started_at=0.0, ended_at=case.end)
    assert again == first


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_canary_counts_and_rpo(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 200), label="n")
    interval = data.draw(st.floats(0.001, 1.0), label="interval")
    fault = data.draw(st.floats(0.0, n * interval), label="fault")
    missing = data.draw(st.sets(st.integers(0, n - 1)), label="missing")
    corrupt = data.draw(st.sets(st.integers(0, n - 1)), label="corrupt")
    log = canary_log(n, interval, missing=missing, corrupt=corrupt, failed=4)
    loss = measure.measure_canary(log, fault)
    assert loss.writes_acknowledged == n
    assert loss.writes_failed == 4
    assert loss.writes_lost == len(missing)
    assert loss.writes_corrupted == len(corrupt - missing)
    assert loss.writes_lost + len(log.readback or {}) == n
    lost_after = [i for i in missing if i * interval >= fault]
    assert loss.writes_lost_after_fault == len(lost_after)
    if not missing and not any(i * interval < fault for i in range(n)):
        # nothing lost, nothing acknowledged before the fault: no evidence either way
        assert loss.rpo_seconds is None and "rpo_seconds" in loss.unmeasured
        return
    assert loss.unmeasured == {}
    assert loss.rpo_seconds is not None
    if not missing:
        assert loss.rpo_seconds == 0.0
        return
    # never "0 s" while acknowledged writes are gone, whichever side of the fault they are on
    assert loss.rpo_seconds > 0
    oldest, newest = min(missing) * interval, max(missing) * interval
    span = max(fault, newest) - oldest
    assert loss.rpo_seconds == pytest.approx(span if span > 0 else interval)


def _rpo(missing: set[int], fault: float, n: int = 20) -> float | None:
    return measure.measure_canary(canary_log(n, 1.0, missing=missing), fault).rpo_seconds


def test_rpo_of_a_lost_tail_ends_at_the_fault() -> None:
    # a crash at 10.5 lost the writes sent at 8, 9 and 10: 2.5 s of history before the fault
    assert _rpo({8, 9, 10}, 10.5) == pytest.approx(2.5)


def test_rpo_of_writes_thrown_away_after_the_fault_is_their_span() -> None:
    # a corruption at 5.5 repaired by a restore to 5.5: the writes of 6..12 are gone (6 s)
    assert _rpo(set(range(6, 13)), 5.5) == pytest.approx(6.0)


def test_rpo_of_a_gap_in_the_middle_spans_it() -> None:
    assert _rpo({4, 5}, 10.5) == pytest.approx(6.5)  # from 4 to the fault
    assert _rpo({12, 13, 16}, 10.5) == pytest.approx(4.0)  # from 12 to 16


def test_rpo_of_one_lost_write_after_the_fault_is_one_canary_interval() -> None:
    assert _rpo({14}, 10.5) == pytest.approx(1.0)
    assert _rpo({10}, 10.5) == pytest.approx(0.5)  # before the fault: up to the fault


def test_rpo_without_loss_is_zero() -> None:
    assert _rpo(set(), 10.5) == 0.0


@dataclass(frozen=True)
class Freeze:
    """A target frozen on [a, b): probes hang until the thaw or their timeout."""

    samples: list[Sample]
    fault: float
    a: float
    b: float
    interval: float
    timeout: float
    sustain: int
    end: float


def frozen_series(
    signal: str,
    offset: float,
    end: float,
    interval: float,
    a: float,
    b: float,
    timeout: float,
    latency: float,
) -> list[Sample]:
    """Probes sent every `interval`; each is answered `latency` after the server can answer it,
    or fails at its timeout."""
    samples = []
    k = 0
    while (t := offset + k * interval) < end:
        answered = t + latency if (t + latency < a or t >= b) else b + latency
        if answered <= t + timeout:
            samples.append(Sample(t, signal, True, answered - t, known=answered))
        else:
            samples.append(Sample(t, signal, False, None, detail="timeout", known=t + timeout))
        k += 1
    return samples


@st.composite
def freezes(draw: st.DrawFn) -> Freeze:
    interval = draw(st.floats(0.05, 0.5))
    timeout = interval * draw(st.floats(1.0, 10.0))
    latency = interval * draw(st.floats(0.0, 0.5))
    offsets = draw(st.lists(st.floats(0.0, 0.999), min_size=1, max_size=3))
    fault = draw(st.floats(1.0, 5.0))
    a = fault + draw(st.floats(0.0, 1.0))
    b = a + timeout + interval * draw(st.floats(1.5, 30.0))  # long enough to fail a probe
    sustain = draw(st.integers(1, 5))
    end = b + timeout + (sustain + 2) * interval
    samples = [
        s
        for i, off in enumerate(offsets)
        for s in frozen_series(f"sig{i}", off * interval, end, interval, a, b, timeout, latency)
    ]
    return Freeze(samples, fault, a, b, interval, timeout, sustain, end)


@settings(max_examples=300, deadline=None)
@given(freezes())
def test_a_freeze_is_measured_within_one_interval(case: Freeze) -> None:
    m = measure.compute(
        case.samples,
        [method_mark(0.0), fault_mark(case.fault)],
        None,
        started_at=0.0,
        ended_at=case.end,
        sustain=case.sustain,
    )
    assert m.detected_at is not None and m.recovered_at is not None, m.unmeasured
    # detection: the first hung probe can only be known as failed at its timeout
    assert case.a + case.timeout - case.interval - EPS <= m.detected_at
    assert m.detected_at <= case.a + case.timeout + case.interval + EPS
    # recovery: the thaw, not the send of a probe that sat in the frozen queue
    assert case.b - EPS <= m.recovered_at <= case.b + case.interval + EPS
    assert m.rto_seconds is not None
    assert abs(m.rto_seconds - (case.b - case.fault)) <= case.interval + EPS
    # the probes kept going out on schedule during the freeze
    assert m.resolution_seconds == pytest.approx(case.interval)


def test_detection_is_when_the_failure_was_known() -> None:
    hung = Sample(10.1, "api", False, None, known=10.6)  # sent 0.1 s after the fault, timed out
    assert measure.detected_at([hung], 10.0) == 10.6
    before = Sample(9.8, "api", False, None, known=10.3)  # in flight at the fault, failed after
    assert measure.detected_at([before, hung], 10.0) == 10.3


def test_recovery_is_timed_by_the_answer_less_the_usual_latency_never_before_the_send() -> None:
    steady = [Sample(float(t) / 10, "api", True, 0.01, known=t / 10 + 0.01) for t in range(50)]
    hung = [Sample(5.0 + i / 10, "api", False, None, known=5.5 + i / 10) for i in range(20)]
    # sent at 7.0 into the frozen server, answered at the thaw (8.0)
    thawed = [Sample(7.0 + i / 10, "api", True, None, known=8.01) for i in range(10)]
    after = [Sample(8.0 + i / 10, "api", True, 0.01, known=8.01 + i / 10) for i in range(10)]
    samples = steady + [s for s in hung if s.t < 7.0] + thawed + after
    assert measure.recovered_at(samples, 5.0) == pytest.approx(8.0)
    quick = [Sample(t, "api", True, None, known=t + 0.001) for t in (9.0, 9.1, 9.2)]
    late = [Sample(8.9, "api", False, None, known=8.95)]
    # answered 1 ms after its send, while the steady latency is 10 ms: never before the send
    assert measure.recovered_at(steady + late + quick, 5.0) == pytest.approx(9.0)


# --- detection and recovery examples -----------------------------------------------------------


def series(signal: str, points: list[tuple[float, bool]], critical: bool = True) -> list[Sample]:
    return [Sample(t, signal, ok, critical=critical) for t, ok in points]


def run(samples: list[Sample], activities: list[ActivityMark], **kw: float) -> Measurements:
    return measure.compute(samples, activities, None, started_at=0.0, ended_at=kw.get("end", 30.0))


def test_no_fault_activity_means_nothing_is_timed() -> None:
    samples = series("api", [(1.0, True), (2.0, False), (3.0, True)])
    m = run(samples, [method_mark(1.0)])
    assert m.fault_at is None and m.detected_at is None and m.recovered_at is None
    assert m.rto_seconds is None and m.time_to_detect_seconds is None
    assert m.unmeasured["detected_at"] == measure.NO_FAULT
    assert m.unmeasured["rto_seconds"] == measure.NO_FAULT
    assert "fault" in m.unmeasured["fault_at"]
    assert list(m.phases) == [Phase.STEADY]
    assert m.unmeasured["phases.fault"] == measure.NO_FAULT


def test_fault_in_rollback_or_hypothesis_is_not_the_fault() -> None:
    rollback = ActivityMark("undo", "action", Stage.ROLLBACK, 2.0, tags=("fault",))
    hypothesis = ActivityMark("probe", "probe", Stage.HYPOTHESIS_BEFORE, 1.0, tags=("fault",))
    assert measure.fault_at([rollback, hypothesis]) is None
    assert measure.fault_at([rollback, fault_mark(7.0), fault_mark(5.0, name="other")]) == 5.0


def test_fault_without_failure_is_not_detected() -> None:
    samples = series("api", [(float(t), True) for t in range(30)])
    m = run(samples, [fault_mark(10.0)])
    assert m.fault_at == 10.0
    assert m.detected_at is None and m.recovered_at is None and m.rto_seconds is None
    assert m.unmeasured["detected_at"] == measure.NO_DETECTABLE_FAILURE
    assert m.unmeasured["recovered_at"] == measure.NO_DETECTABLE_FAILURE
    assert m.unmeasured["downtime_seconds"] == measure.NO_DETECTABLE_FAILURE


def test_failures_before_the_fault_and_of_non_critical_signals_are_ignored() -> None:
    samples = series("api", [(5.0, False), (9.0, True), (10.5, True), (12.0, False)])
    samples += series("api", [(13.0, True), (14.0, True), (15.0, True)])
    samples += series("cache", [(11.0, False)], critical=False)
    m = run(samples, [fault_mark(10.0)])
    assert m.detected_at == 12.0
    assert m.recovered_at == 13.0
    assert m.time_to_detect_seconds == 2.0
    assert m.rto_seconds == 3.0
    assert m.downtime_seconds == 1.0


def test_a_failure_exactly_at_the_fault_counts() -> None:
    assert measure.detected_at(series("api", [(10.0, False)]), 10.0) == 10.0
    assert measure.detected_at(series("api", [(9.999, False)]), 10.0) is None


def test_never_recovered_before_the_end() -> None:
    samples = series("api", [(float(t), t < 10) for t in range(30)])
    m = run(samples, [fault_mark(10.0)])
    assert m.detected_at == 10.0
    assert m.recovered_at is None and m.rto_seconds is None
    assert m.unmeasured["rto_seconds"] == measure.NEVER_RECOVERED
    assert m.unmeasured["phases.after"] == measure.NEVER_RECOVERED


def test_too_few_healthy_samples_at_the_end_is_not_a_recovery() -> None:
    samples = series("api", [(10.0, False), (11.0, True), (12.0, True)])
    found = measure.recovery(samples, 10.0, sustain=3)
    assert found.at is None
    assert found.reason is not None
    assert found.reason.startswith(measure.NEVER_RECOVERED)
    assert "not sustained" in found.reason and "api had 2" in found.reason
    assert measure.recovery(samples, 10.0, sustain=2).at == 11.0


def test_every_critical_signal_must_be_sustained() -> None:
    api = series("api", [(10.0, False), (11.0, True), (12.0, True), (13.0, True)])
    db = series("db", [(10.5, False), (11.5, True)])
    found = measure.recovery(api + db, 10.0, sustain=3)
    assert found.at is None and found.reason is not None and "db had 1" in found.reason
    db += series("db", [(12.5, True), (13.5, True)])
    # db is known healthy only from 11.5: the window in which every signal is healthy starts there
    assert measure.recovered_at(api + db, 10.0, sustain=3) == 11.5


def test_a_signal_unseen_after_its_failure_is_not_assumed_healthy() -> None:
    # b's check hung from 9.0 until 10.5; a failed last at 10.0 and is healthy from 10.1
    a = series("a", [(9.0, True), (10.0, False), (10.1, True), (10.2, True), (10.3, True)])
    b = series("b", [(9.0, False), (10.5, True), (10.6, True), (10.7, True)])
    assert measure.recovered_at(a + b, 8.0, sustain=3) == 10.5


def test_flapping_recovers_only_after_the_last_failure() -> None:
    points = [(10.0, False), (11.0, True), (12.0, True), (13.0, False)]
    points += [(14.0, True), (15.0, True), (16.0, True)]
    m = run(series("api", points), [fault_mark(9.0)])
    assert m.detected_at == 10.0
    assert m.recovered_at == 14.0
    assert m.rto_seconds == 5.0
    assert m.downtime_seconds == 4.0


def test_empty_samples() -> None:
    m = run([], [fault_mark(10.0)])
    assert m.fault_at == 10.0 and m.detected_at is None and m.resolution_seconds is None
    assert "resolution_seconds" in m.unmeasured
    assert m.phases[Phase.STEADY].requests == 0
    assert m.phases[Phase.STEADY].error_rate is None
    assert m.unmeasured["phases.steady.error_rate"] == "no probe traffic in this phase"


def test_sustain_must_be_positive() -> None:
    with pytest.raises(MeasurementError):
        measure.recovery([], 1.0, sustain=0)


def test_resolution_is_the_median_gap_of_critical_signals() -> None:
    samples = series("a", [(0.0, True), (0.1, True), (0.3, True)])
    samples += series("b", [(0.05, True), (0.25, True)])
    samples += series("noise", [(0.0, True), (0.001, True), (0.002, True)], critical=False)
    assert measure.resolution_seconds(samples) == pytest.approx(0.2)
    assert measure.resolution_seconds(series("a", [(1.0, True)])) is None
    # during an outage: only the sends inside it
    slow = series("a", [(0.0, True), (1.0, False), (1.5, False), (2.0, False), (2.1, True)])
    assert measure.resolution_seconds(slow, 1.0, 2.0) == pytest.approx(0.5)


# --- canary examples ---------------------------------------------------------------------------


def test_no_canary_leaves_every_canary_field_unmeasured_with_a_reason() -> None:
    m = run([], [fault_mark(1.0)])
    for name in ("writes_acknowledged", "writes_lost", "rpo_seconds", "writes_corrupted"):
        assert getattr(m, name) is None
        assert "no canary" in m.unmeasured[name]


def test_failed_readback_keeps_counts_and_explains_loss() -> None:
    log = CanaryLog(canary_log(5, 1.0).acked, 2, None, readback_error="db unreachable")
    loss = measure.measure_canary(log, 3.0)
    assert (loss.writes_acknowledged, loss.writes_failed) == (5, 2)
    assert loss.writes_lost is None and loss.rpo_seconds is None
    assert loss.unmeasured["rpo_seconds"] == "db unreachable"
    assert loss.unmeasured["writes_lost"] == "db unreachable"


def test_a_gap_in_the_middle_sets_rpo_and_lost_after_fault_counts_twice() -> None:
    # writes every 1 s at t=0..9; fault at 6.5; seq 2 lost (a gap), seq 8 lost (after the fault)
    loss = measure.measure_canary(canary_log(10, 1.0, missing={2, 8}), 6.5)
    assert loss.writes_lost == 2
    assert loss.writes_lost_after_fault == 1
    assert loss.rpo_seconds == pytest.approx(6.0)
    only_after = measure.measure_canary(canary_log(10, 1.0, missing={8, 9}), 6.5)
    # the defect this pins: writes lost after the fault used to give "RPO 0 s"
    assert only_after.rpo_seconds == pytest.approx(1.0) and only_after.writes_lost_after_fault == 2


def test_loss_without_a_fault_has_no_rpo() -> None:
    loss = measure.measure_canary(canary_log(4, 1.0, missing={1}), None)
    assert loss.writes_lost == 1
    assert loss.rpo_seconds is None and loss.writes_lost_after_fault is None
    assert measure.NO_FAULT in loss.unmeasured["rpo_seconds"]


# --- phases ------------------------------------------------------------------------------------


def test_p95_is_nearest_rank() -> None:
    assert measure.p95([]) is None
    assert measure.p95([0.3]) == 0.3
    assert measure.p95([float(i) for i in range(1, 21)]) == 19.0
    assert measure.p95([float(i) for i in range(100, 0, -1)]) == 95.0


def test_recovery_starts_after_every_fault_activity_has_started() -> None:
    activities = [
        method_mark(1.0, name="warm-up"),
        fault_mark(10.0),
        method_mark(11.0, name="observe"),
        fault_mark(12.0, name="second-fault"),
        method_mark(20.0, name="restore"),
        method_mark(25.0, name="verify"),
        ActivityMark("cleanup", "action", Stage.ROLLBACK, 15.0),
    ]
    assert measure.recovery_started_at(activities) == 20.0
    assert measure.recovery_started_at([method_mark(1.0)]) is None


def test_phase_traffic_is_split_at_fault_recovery_and_recovered() -> None:
    # fault at 10, restore starts at 20, http fails on [10, 24), recovered at 24, end at 40
    http = grid("http", 0.0, 40.0, 1.0, [(10.0, 24.0)], latency_seconds=0.1)
    slow = [
        Sample(float(t) + 0.5, "graphql", True, 1.0 + t / 100, critical=False) for t in range(40)
    ]
    m = measure.compute(
        http + slow,
        [fault_mark(10.0), method_mark(20.0)],
        None,
        started_at=0.0,
        ended_at=40.0,
    )
    assert m.recovered_at == 24.0
    steady, fault = m.phases[Phase.STEADY], m.phases[Phase.FAULT]
    recovery, after = m.phases[Phase.RECOVERY], m.phases[Phase.AFTER]
    assert (steady.requests, steady.errors, steady.error_rate) == (20, 0, 0.0)
    assert (fault.requests, fault.errors, fault.error_rate) == (20, 10, 0.5)
    assert (recovery.requests, recovery.errors) == (8, 4)
    assert (after.requests, after.errors) == (32, 0)
    # steady: 10 x 0.1 (http) and 1.00..1.09 (graphql): rank ceil(0.95 * 20) = 19 -> 1.08
    assert steady.p95_latency_seconds == pytest.approx(1.08)
    # after: 16 x 0.1 and 1.24..1.39: rank ceil(0.95 * 32) = 31 -> 1.38
    assert after.p95_latency_seconds == pytest.approx(1.38)


def test_self_healing_has_no_recovery_phase() -> None:
    http = grid("http", 0.0, 20.0, 1.0, [(5.0, 8.0)], latency_seconds=0.01)
    m = measure.compute(http, [fault_mark(5.0)], None, started_at=0.0, ended_at=20.0)
    assert list(m.phases) == [Phase.STEADY, Phase.FAULT, Phase.AFTER]
    assert m.phases[Phase.FAULT].requests == 3
    assert "phases.recovery" in m.unmeasured


def test_phase_bounds_clip_a_recovery_step_that_starts_after_recovery() -> None:
    bounds = measure.phase_bounds(0.0, 30.0, 5.0, 20.0, 12.0)
    assert bounds == [
        (Phase.STEADY, 0.0, 5.0),
        (Phase.FAULT, 5.0, 12.0),
        (Phase.AFTER, 12.0, 30.0),
    ]
    assert measure.phase_bounds(0.0, 30.0, 5.0, 20.0, None)[-1] == (Phase.RECOVERY, 20.0, 30.0)


def test_a_disruption_caused_by_rollbacks_after_recovery_does_not_stretch_rto() -> None:
    from collections.abc import Callable

    from drills.models import ActivityMark, Sample, Stage

    def samples(ok_at: Callable[[float], bool]) -> list[Sample]:
        return [Sample(round(i * 0.1, 3), "health", ok_at(i * 0.1), 0.001) for i in range(200)]

    fault = ActivityMark("kill", "action", Stage.METHOD, 2.0, 2.1, ("fault",))
    rollback = ActivityMark("fail-back", "action", Stage.ROLLBACK, 10.0, 14.0)
    # down 2.0-5.0 (the drill), healthy, then down again 11.0-13.0 (the rollback's switchover)
    timeline = samples(lambda t: not (2.0 <= t < 5.0 or 11.0 <= t < 13.0))
    m = measure.compute(timeline, [fault, rollback], None, started_at=0.0, ended_at=20.0)
    assert m.rto_seconds is not None and 2.9 <= m.rto_seconds <= 3.2
    # not recovered when the rollbacks start: the rollbacks are the recovery, everything counts
    stuck = samples(lambda t: not (2.0 <= t < 12.0))
    m = measure.compute(stuck, [fault, rollback], None, started_at=0.0, ended_at=20.0)
    assert m.rto_seconds is not None and 9.9 <= m.rto_seconds <= 10.2
