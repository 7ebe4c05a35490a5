"""A drill that expects no outage (`outage_expected: false`) is judged by what it tested."""

from __future__ import annotations

from drills.expectations import outage_expected
from drills.models import Comparison, ObjectiveResult, RunStatus, Verdict
from drills.objectives import ObjectiveTargets, evaluate
from drills.verdict import NOT_APPLICABLE, judge_without_outage
from tests.engine.builders import measurements

QUIET = {"detected_at": None, "recovered_at": None, "rto_seconds": None, "downtime_seconds": None}


def objectives_of(**overrides: object) -> tuple[ObjectiveResult, ...]:
    return tuple(evaluate(measurements(**{**QUIET, **overrides}), ObjectiveTargets()))


def test_the_flag_is_read_from_the_drills_extension_only() -> None:
    assert outage_expected({})
    assert outage_expected({"extensions": [{"name": "other", "outage_expected": False}]})
    assert outage_expected({"extensions": [{"name": "drills", "outage_expected": True}]})
    assert not outage_expected({"extensions": [{"name": "drills", "outage_expected": False}]})


def test_nothing_broke_and_everything_succeeded_is_met_with_recovery_not_applicable() -> None:
    m = measurements(**QUIET)
    judged = judge_without_outage(RunStatus.COMPLETED, m, objectives_of())
    assert judged is not None
    results, verdict, reason = judged
    assert verdict is Verdict.MET, reason
    rto = next(o for o in results if o.name == "rto")
    assert rto.met is None and rto.reason == NOT_APPLICABLE
    assert all(o.met is not False for o in results)


def test_a_failed_activity_is_the_finding_missed_not_invalid() -> None:
    judged = judge_without_outage(RunStatus.FAILED, measurements(**QUIET), objectives_of())
    assert judged is not None
    assert judged[1] is Verdict.MISSED


def test_a_measured_objective_missed_still_misses() -> None:
    slow = ObjectiveResult("p95_steady", 0.5, 0.9, -0.4, False, Comparison.BELOW)
    judged = judge_without_outage(
        RunStatus.COMPLETED, measurements(**QUIET), (*objectives_of(), slow)
    )
    assert judged is not None
    assert judged[1] is Verdict.MISSED and "p95_steady" in judged[2]


def test_usual_rules_when_a_failure_was_seen_aborted_or_no_fault() -> None:
    broke = measurements()  # detected at 10.5 s
    assert judge_without_outage(RunStatus.COMPLETED, broke, objectives_of()) is None
    quiet = measurements(**QUIET)
    assert judge_without_outage(RunStatus.ABORTED, quiet, objectives_of()) is None
    no_fault = measurements(**QUIET, fault_at=None)
    assert judge_without_outage(RunStatus.COMPLETED, no_fault, objectives_of()) is None
