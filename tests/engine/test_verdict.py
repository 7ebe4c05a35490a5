"""Verdicts: aborted, invalid, missed, met, and invalid never coming out as met."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drills.models import Comparison, ObjectiveResult, RunStatus, Verdict
from drills.objectives import ObjectiveTargets, evaluate
from drills.verdict import decide, describe
from tests.engine.builders import measurements


def objective(
    name: str,
    measured: float | None,
    threshold: float,
    met: bool | None,
    *,
    comparison: Comparison = Comparison.AT_MOST,
    unit: str = "s",
    reason: str | None = None,
) -> ObjectiveResult:
    margin = None if measured is None else threshold - measured
    return ObjectiveResult(name, threshold, measured, margin, met, comparison, unit, reason)


MET_RTO = objective("rto", 30.0, 900.0, True)


def test_aborted_wins_over_everything() -> None:
    verdict, reason = decide(RunStatus.ABORTED, measurements(fault_at=None), [MET_RTO])
    assert verdict is Verdict.ABORTED
    assert "aborted" in reason


def test_no_fault_is_invalid() -> None:
    verdict, reason = decide(RunStatus.COMPLETED, measurements(fault_at=None), [MET_RTO])
    assert (verdict, reason) == (Verdict.INVALID, "the fault never ran")


def test_no_detectable_failure_is_invalid() -> None:
    verdict, reason = decide(RunStatus.COMPLETED, measurements(detected_at=None), [MET_RTO])
    assert verdict is Verdict.INVALID
    assert reason == "the fault produced no detectable failure: the drill proves nothing"


def test_missed_objectives_are_named_with_measured_and_threshold() -> None:
    missed_rto = objective("rto", 1012.5, 900.0, False)
    missed_rpo = objective("rpo", None, 300.0, False, reason="db unreachable")
    errors = objective(
        "error_rate_steady", 0.05, 0.01, False, comparison=Comparison.BELOW, unit="ratio"
    )
    verdict, reason = decide(
        RunStatus.COMPLETED,
        measurements(),
        [missed_rto, objective("p95", 0.1, 0.5, True), missed_rpo, errors],
    )
    assert verdict is Verdict.MISSED
    assert "rto 16 min 52 s (objective <= 15 min 00 s)" in reason
    assert "rpo not measured: db unreachable (objective <= 5 min 00 s)" in reason
    assert "error_rate_steady 5 % (objective < 1 %)" in reason
    assert "p95" not in reason
    assert "\n" not in reason


def test_all_met() -> None:
    unmeasured = objective("p95_steady", None, 0.5, None, comparison=Comparison.BELOW)
    verdict, reason = decide(RunStatus.COMPLETED, measurements(), [MET_RTO, unmeasured])
    assert verdict is Verdict.MET
    assert reason == "met: rto 30 s (objective <= 15 min 00 s)"


def test_a_failed_runbook_step_misses_whatever_the_numbers() -> None:
    verdict, reason = decide(
        RunStatus.FAILED, measurements(), [MET_RTO], ["assert-postgres-breaker-opens"]
    )
    assert verdict is Verdict.MISSED
    assert reason == "missed: assert-postgres-breaker-opens failed"


def test_a_failed_step_never_makes_an_invalid_drill_count() -> None:
    no_fault = measurements(fault_at=None, detected_at=None)
    verdict, _ = decide(RunStatus.FAILED, no_fault, [MET_RTO], ["restart-postgresql"])
    assert verdict is Verdict.INVALID


def test_describe_counts() -> None:
    text = describe(
        objective("breakers_closed", 2.0, 0.0, False, comparison=Comparison.EQUALS, unit="count")
    )
    assert text == "breakers_closed 2 (objective == 0)"


def test_end_to_end_never_recovered_is_missed() -> None:
    m = measurements(recovered_at=None, rto_seconds=None, downtime_seconds=None)
    m.unmeasured["rto_seconds"] = "did not recover before the drill ended"
    verdict, reason = decide(RunStatus.COMPLETED, m, evaluate(m, ObjectiveTargets()))
    assert verdict is Verdict.MISSED
    assert "rto not measured: did not recover before the drill ended" in reason


@given(
    status=st.sampled_from(RunStatus),
    fault=st.one_of(st.none(), st.floats(0, 100)),
    detected=st.one_of(st.none(), st.floats(0, 100)),
    mets=st.lists(st.one_of(st.none(), st.booleans()), max_size=7),
)
def test_invalid_or_aborted_is_never_met(
    status: RunStatus, fault: float | None, detected: float | None, mets: list[bool | None]
) -> None:
    objectives = [objective(f"o{i}", 1.0, 2.0, met) for i, met in enumerate(mets)]
    verdict, _ = decide(status, measurements(fault_at=fault, detected_at=detected), objectives)
    if status is RunStatus.ABORTED:
        assert verdict is Verdict.ABORTED
    elif fault is None or detected is None:
        assert verdict is Verdict.INVALID
    elif False in mets:
        assert verdict is Verdict.MISSED
    else:
        assert verdict is Verdict.MET


def test_a_met_reason_names_rto_and_rpo_rounded_and_counts_the_rest() -> None:
    # the reason used to list every objective with raw floats ("p95_steady 0.0215191 s ...")
    objectives = [
        objective("rto", 2.45477, 900.0, True),
        objective("rpo", 0.0, 300.0, True),
        objective("p95_steady", 0.0215191, 0.5, True, comparison=Comparison.BELOW),
        objective("error_rate_steady", 0.0, 0.01, True, comparison=Comparison.BELOW, unit="ratio"),
    ]
    verdict, reason = decide(RunStatus.COMPLETED, measurements(), objectives)
    assert verdict is Verdict.MET
    assert reason == (
        "met: rto 2.45 s (objective <= 15 min 00 s); rpo 0 s (objective <= 5 min 00 s);"
        " 2 other objectives met"
    )
