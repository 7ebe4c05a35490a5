"""Objectives: runbook defaults, strict profile overrides, and evaluation against measurements."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drills import measure
from drills.errors import InputError
from drills.models import Comparison, Measurements, ObjectiveResult, Phase, PhaseStats
from drills.objectives import (
    OBJECTIVE_NAMES,
    ObjectiveTargets,
    evaluate,
    parse_duration_seconds,
    parse_fraction,
)
from tests.engine.builders import measurements


def by_name(results: tuple[ObjectiveResult, ...]) -> dict[str, ObjectiveResult]:
    return {r.name: r for r in results}


def steady(p95: float | None, error_rate: float | None, requests: int = 100) -> Measurements:
    stats = PhaseStats(Phase.STEADY, requests, 0, error_rate, p95)
    return measurements(phases={Phase.STEADY: stats})


# --- targets -----------------------------------------------------------------------------------


def test_defaults_are_the_runbook_numbers() -> None:
    t = ObjectiveTargets()
    assert (t.rto_seconds, t.rpo_seconds, t.mttr_seconds) == (900.0, 300.0, 1800.0)
    assert (t.p95_latency_seconds, t.error_rate, t.db_pool_utilisation) == (0.5, 0.01, 0.8)
    assert t.breakers_closed_after_recovery is True
    assert ObjectiveTargets.from_mapping({}) == t


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("900", 900.0),
        ("15m", 900.0),
        ("300s", 300.0),
        ("5 min", 300.0),
        ("2 minutes", 120.0),
        ("1h 30m", 5400.0),
        ("500ms", 0.5),
        ("1.5h", 5400.0),
        (" 10 S ", 10.0),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "fast", "15 parsecs", "5 5m", "-3s", "1e3s", "m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration_seconds(text)


@given(st.integers(0, 10_000), st.sampled_from([("s", 1), ("m", 60), ("min", 60), ("h", 3600)]))
def test_duration_units_scale(number: int, unit: tuple[str, int]) -> None:
    assert parse_duration_seconds(f"{number}{unit[0]}") == number * unit[1]
    assert parse_duration_seconds(f"{number} {unit[0]}") == number * unit[1]


def test_fractions() -> None:
    assert parse_fraction("1%") == pytest.approx(0.01)
    assert parse_fraction(" 80 % ") == pytest.approx(0.8)
    assert parse_fraction("0.05") == 0.05
    with pytest.raises(ValueError):
        parse_fraction("lots")


def test_overrides_accept_numbers_durations_and_percentages() -> None:
    t = ObjectiveTargets.from_mapping(
        {
            "rto_seconds": "15m",
            "rpo_seconds": 60,
            "mttr_seconds": "20 min",
            "p95_latency_seconds": "250ms",
            "error_rate": "2%",
            "db_pool_utilisation": 0.9,
            "breakers_closed_after_recovery": False,
        }
    )
    assert t == ObjectiveTargets(900.0, 60.0, 1200.0, 0.25, 0.02, 0.9, False)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"rto": 900}, "'rto'"),
        ({"rto_seconds": "soon"}, "rto_seconds"),
        ({"rto_seconds": True}, "rto_seconds"),
        ({"rto_seconds": [900]}, "rto_seconds"),
        ({"rpo_seconds": -1}, "rpo_seconds"),
        ({"rpo_seconds": float("nan")}, "rpo_seconds"),
        ({"error_rate": 5}, "error_rate"),
        ({"error_rate": "150%"}, "error_rate"),
        ({"breakers_closed_after_recovery": "yes"}, "breakers_closed_after_recovery"),
    ],
)
def test_bad_overrides_name_the_key(data: dict[str, object], named: str) -> None:
    with pytest.raises(InputError) as info:
        ObjectiveTargets.from_mapping(data)
    message = str(info.value)
    assert named in message
    assert "\n" not in message


# --- evaluation --------------------------------------------------------------------------------


def test_measured_run_within_objectives() -> None:
    results = by_name(evaluate(steady(0.2, 0.0), ObjectiveTargets()))
    assert list(results) == [
        "rto",
        "rpo",
        "mttr",
        "p95_steady",
        "error_rate_steady",
        "writes_corrupted",
    ]
    assert results["writes_corrupted"].met is True
    rto = results["rto"]
    assert (rto.threshold, rto.measured, rto.margin, rto.met) == (900.0, 30.0, 870.0, True)
    assert rto.comparison is Comparison.AT_MOST and rto.unit == "s"
    assert results["rpo"].met is True and results["rpo"].margin == 300.0
    assert results["p95_steady"].margin == pytest.approx(0.3)
    assert results["error_rate_steady"].met is True
    assert results["mttr"].measured == 30.0  # this run's own RTO is the one value


def test_names_and_order_are_fixed() -> None:
    m = steady(0.1, 0.0)
    m.extra.update({"db_pool_peak_utilisation": 0.5, "breakers_open_after_recovery": 0})
    results = evaluate(m, ObjectiveTargets(), history_rto_seconds=[10.0])
    assert tuple(r.name for r in results) == OBJECTIVE_NAMES


def test_one_corrupted_record_misses_whatever_else_held() -> None:
    r = by_name(evaluate(measurements(writes_corrupted=1), ObjectiveTargets()))["writes_corrupted"]
    assert (r.met, r.measured, r.threshold, r.comparison) == (False, 1.0, 0.0, Comparison.EQUALS)


def test_rto_over_threshold_is_missed_with_negative_margin() -> None:
    r = by_name(evaluate(measurements(rto_seconds=1000.0), ObjectiveTargets()))["rto"]
    assert (r.met, r.margin) == (False, -100.0)
    exactly = by_name(evaluate(measurements(rto_seconds=900.0), ObjectiveTargets()))["rto"]
    assert exactly.met is True  # "<= 900 s"


def test_required_objective_that_was_not_measured_is_not_met() -> None:
    m = measurements(recovered_at=None, rto_seconds=None, downtime_seconds=None)
    m.unmeasured["rto_seconds"] = measure.NEVER_RECOVERED
    r = by_name(evaluate(m, ObjectiveTargets()))["rto"]
    assert r.measured is None and r.margin is None
    assert r.met is False
    assert r.reason == "did not recover before the drill ended"


def test_optional_unmeasured_objective_has_met_none() -> None:
    m = measurements(rpo_seconds=None)
    m.unmeasured["rpo_seconds"] = "db unreachable"
    r = by_name(evaluate(m, ObjectiveTargets(), required=("rto",)))["rpo"]
    assert (r.met, r.reason) == (None, "db unreachable")
    required = by_name(evaluate(m, ObjectiveTargets()))["rpo"]
    assert (required.met, required.reason) == (False, "db unreachable")


def test_steady_state_objectives_are_strictly_below() -> None:
    results = by_name(evaluate(steady(0.5, 0.01), ObjectiveTargets()))
    assert results["p95_steady"].met is False
    assert results["p95_steady"].comparison is Comparison.BELOW
    assert results["error_rate_steady"].met is False
    assert results["error_rate_steady"].unit == "ratio"


def test_no_probe_traffic_makes_steady_objectives_unmeasured() -> None:
    m = steady(None, None, requests=0)
    m.unmeasured["phases.steady.p95_latency_seconds"] = "no probe traffic in this phase"
    results = by_name(evaluate(m, ObjectiveTargets()))
    assert results["p95_steady"].met is None
    assert results["p95_steady"].reason == "no probe traffic in this phase"
    assert "p95_steady" not in by_name(evaluate(measurements(), ObjectiveTargets()))


def test_mttr_is_the_mean_of_history_and_this_run() -> None:
    results = by_name(
        evaluate(measurements(rto_seconds=30.0), ObjectiveTargets(), history_rto_seconds=[10, 20])
    )
    mttr = results["mttr"]
    assert mttr.measured == pytest.approx(20.0)
    assert mttr.comparison is Comparison.BELOW and mttr.met is True
    slow = evaluate(measurements(rto_seconds=30.0), ObjectiveTargets(), history_rto_seconds=[3600])
    assert by_name(slow)["mttr"].met is False


def test_mttr_is_omitted_without_any_value_unless_required() -> None:
    m = measurements(rto_seconds=None)
    assert "mttr" not in by_name(evaluate(m, ObjectiveTargets()))
    forced = by_name(evaluate(m, ObjectiveTargets(), required=("rto", "rpo", "mttr")))["mttr"]
    assert forced.met is False and forced.measured is None


def test_db_pool_and_breakers_only_when_reported() -> None:
    assert {"db_pool", "breakers_closed"}.isdisjoint(
        by_name(evaluate(measurements(), ObjectiveTargets()))
    )
    m = measurements()
    m.extra.update({"db_pool_peak_utilisation": 0.85, "breakers_open_after_recovery": 2})
    results = by_name(evaluate(m, ObjectiveTargets()))
    assert results["db_pool"].met is False and results["db_pool"].margin == pytest.approx(-0.05)
    breakers = results["breakers_closed"]
    assert (breakers.met, breakers.measured, breakers.margin) == (False, 2.0, -2.0)
    assert breakers.comparison is Comparison.EQUALS
    m.extra["breakers_open_after_recovery"] = 0
    assert by_name(evaluate(m, ObjectiveTargets()))["breakers_closed"].met is True
    off = ObjectiveTargets(breakers_closed_after_recovery=False)
    assert "breakers_closed" not in by_name(evaluate(m, off))


def test_unknown_required_name_is_refused() -> None:
    with pytest.raises(InputError, match="rtoo"):
        evaluate(measurements(), ObjectiveTargets(), required=("rtoo",))


@given(
    rto=st.one_of(st.none(), st.floats(0, 5000)),
    threshold=st.floats(0, 5000),
    required=st.booleans(),
)
def test_margin_and_met_follow_the_comparison(
    rto: float | None, threshold: float, required: bool
) -> None:
    targets = ObjectiveTargets(rto_seconds=threshold)
    r = by_name(
        evaluate(measurements(rto_seconds=rto), targets, required=("rto",) if required else ())
    )["rto"]
    if rto is None:
        assert r.margin is None and r.met is (False if required else None)
    else:
        assert r.margin == threshold - rto
        assert r.met is (rto <= threshold)
