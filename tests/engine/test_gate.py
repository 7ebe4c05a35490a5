"""The CI gate over seeded histories: what passes, what fails, and when it cannot decide."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drills.errors import InputError
from drills.gate import METRICS, Decision, GatePolicy, gate, judge_metric, judge_scenario
from drills.history import History
from drills.models import Verdict
from drills.reports.gate import gate_text
from tests.engine.seeded import Seeder, noisy

RTO = METRICS[0]


def decisions(result_metrics: tuple[object, ...]) -> dict[str, Decision]:
    return {c.metric.key: c.decision for c in result_metrics}  # type: ignore[attr-defined]


@pytest.fixture
def history(history_location: Path | str) -> Iterator[History]:
    """An empty history, on SQLite and on PostgreSQL."""
    with History(history_location) as store:
        yield store


def test_identical_distributions_fail_at_most_at_the_stated_rate(history: History) -> None:
    """300 seeded scenarios, 10 baseline and 5 new runs from the same noisy distribution, the
    whole gate (six metrics, default floors): about 1 % fail at most (the exact test holds each
    metric at or below alpha; these metrics move together, as real RTO and downtime do)."""
    rng = random.Random(2025)
    scenarios = 300
    for k in range(scenarios):
        seeder = Seeder(history, scenario=f"s{k:03d}")
        seeder.invocation(noisy(rng, 10, 1.5))
        seeder.invocation(noisy(rng, 5, 1.5))
    result = gate(history, [], GatePolicy())
    failed = [s for s in result.scenarios if s.decision is Decision.FAIL]
    assert len(result.scenarios) == scenarios
    # binomial(300, 0.01): mean 3, sd 1.7; a gate at 2 % or worse would exceed this
    assert len(failed) <= scenarios * 0.01 + 3 * (scenarios * 0.01) ** 0.5


def test_the_test_alone_fails_at_most_alpha_without_floors() -> None:
    """Without any minimum effect, the statistical part alone: 2000 seeded trials."""
    rng = random.Random(7)
    policy = GatePolicy(min_relative=0.0, min_absolute={"rto": 0.0})
    trials = 2000
    alarms = sum(
        judge_metric(RTO, noisy(rng, 10, 1.5), noisy(rng, 5, 1.5), policy).decision is Decision.FAIL
        for _ in range(trials)
    )
    assert alarms <= trials * 0.01 + 3 * (trials * 0.01) ** 0.5  # exact: at most alpha


def test_rto_fifty_percent_slower_fails_five_against_ten(history: History) -> None:
    rng = random.Random(1)
    seeder = Seeder(history)
    seeder.invocation(noisy(rng, 10, 2.0, sigma=0.1))
    seeder.invocation(noisy(rng, 5, 3.0, sigma=0.1))
    verdict = judge_scenario(history, "complete-outage", GatePolicy())
    assert verdict.decision is Decision.FAIL
    rto = next(c for c in verdict.metrics if c.metric.key == "rto")
    assert rto.decision is Decision.FAIL and rto.p_value is not None and rto.p_value <= 0.01
    assert "regression: median" in rto.why and "<= alpha 0.01" in rto.why
    assert any(line.startswith("RTO: regression") for line in verdict.reasons())


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_a_fivefold_rto_fails_on_five_baseline_and_four_new_runs(seed: int) -> None:
    rng = random.Random(seed)
    policy = GatePolicy()
    check = judge_metric(RTO, noisy(rng, 5, 1.5, 0.2), noisy(rng, 4, 7.5, 0.2), policy)
    assert check.decision is Decision.FAIL
    assert check.p_value == pytest.approx(1 / 126)


def test_three_new_runs_cannot_decide_and_say_how_many_are_needed() -> None:
    check = judge_metric(RTO, [1.4, 1.5, 1.6, 1.5, 1.45], [7.0, 7.5, 8.0], GatePolicy())
    assert check.decision is Decision.UNDECIDED
    assert "smallest possible p is 0.0179 > alpha 0.01" in check.why
    assert "needs 4 new runs against 5" in check.why


def test_lost_writes_where_the_baseline_lost_none_fail_by_themselves(history: History) -> None:
    seeder = Seeder(history)
    seeder.invocation([1.5] * 5)
    seeder.invocation([1.5, 1.5], lost=[0, 2])
    verdict = judge_scenario(history, "complete-outage", GatePolicy())
    assert decisions(verdict.metrics)["writes_lost"] is Decision.FAIL
    assert verdict.decision is Decision.FAIL
    lost = next(c for c in verdict.metrics if c.metric.key == "writes_lost")
    assert lost.why == "2 acknowledged write(s) lost where the baseline (5 runs) lost none"


@pytest.mark.parametrize("verdict", [Verdict.INVALID, Verdict.ABORTED, Verdict.MISSED])
def test_a_run_that_is_not_met_fails(history: History, verdict: Verdict) -> None:
    seeder = Seeder(history)
    seeder.invocation([1.5] * 10)
    seeder.invocation([1.5] * 5, verdicts=[Verdict.MET] * 4 + [verdict])
    result = judge_scenario(history, "complete-outage", GatePolicy())
    assert result.decision is Decision.FAIL
    (failed,) = [c for c in result.runs if c.decision is Decision.FAIL]
    assert failed.run.verdict is verdict and f"{verdict.value}: seeded" in failed.why


def test_no_baseline_is_objectives_only_said_plainly(history: History) -> None:
    Seeder(history).invocation([1.5, 1.6, 1.4])
    result = judge_scenario(history, "complete-outage", GatePolicy())
    assert result.decision is Decision.PASS  # the objectives were met: that is all it can judge
    assert result.baseline_note.startswith("no baseline yet") and "objectives only" in (
        result.baseline_note
    )
    assert all(c.decision is Decision.NO_BASELINE for c in result.metrics)
    assert (
        gate_text(gate(history, [], GatePolicy()))
        .splitlines()[2]
        .startswith(
            "PASS (objectives only: no baseline yet) complete-outage on sandbox: 3 new run(s)"
        )
    )


def test_the_baseline_is_the_same_target_kind_and_met_runs_only(history: History) -> None:
    Seeder(history, kind="kubernetes").invocation([100.0] * 10)
    sandbox = Seeder(history, count=100)
    sandbox.invocation([1.5] * 3, verdicts=[Verdict.MISSED] * 3)
    sandbox.invocation([1.5, 1.6, 1.4, 1.5, 1.55])
    sandbox.invocation([1.5, 1.52, 1.48, 1.51])
    result = judge_scenario(history, "complete-outage", GatePolicy())
    assert {r.target_kind for r in result.baseline_runs} == {"sandbox"}
    assert {r.verdict for r in result.baseline_runs} == {Verdict.MET}
    assert len(result.baseline_runs) == 5
    assert result.decision is Decision.PASS


def test_the_baseline_is_the_newest_n_met_runs(history: History) -> None:
    seeder = Seeder(history)
    seeder.invocation([1.0] * 20)
    seeder.invocation([1.05] * 4)
    result = judge_scenario(history, "complete-outage", GatePolicy(baseline_runs=7))
    assert len(result.baseline_runs) == 7
    assert result.baseline_runs[0].run_id == "complete-outage-000020"


def test_a_significant_but_small_shift_is_not_a_regression() -> None:
    """+10 %: below the 20 % minimum effect, however clear the statistics."""
    check = judge_metric(RTO, [10.0] * 10, [11.0] * 5, GatePolicy())
    assert check.decision is Decision.PASS and "below the minimum effect" in check.why
    strict = GatePolicy(min_relative=0.05)
    assert judge_metric(RTO, [10.0] * 10, [11.0] * 5, strict).decision is Decision.FAIL


def test_an_absolute_floor_keeps_fast_drills_quiet() -> None:
    check = judge_metric(RTO, [0.10] * 10, [0.30] * 5, GatePolicy())  # +200 % but +0.2 s
    assert check.decision is Decision.PASS
    floors = GatePolicy(min_absolute={"rto": 0.1})
    assert judge_metric(RTO, [0.10] * 10, [0.30] * 5, floors).decision is Decision.FAIL


def test_pinned_baseline_and_reset_show_their_reason(history: History) -> None:
    seeder = Seeder(history)
    old = seeder.invocation([1.0] * 6)
    seeder.invocation([5.0] * 6)  # an accepted slower design
    history.mark_baseline(
        "complete-outage", "reset", [], "switched to sync replication", seeder.now()
    )
    result = judge_scenario(history, "complete-outage", GatePolicy())
    assert "no baseline yet" in result.baseline_note
    seeder.invocation([5.0] * 5)
    seeder.invocation([5.1] * 4)
    result = judge_scenario(history, "complete-outage", GatePolicy())
    assert "switched to sync replication" in result.baseline_note
    assert len(result.baseline_runs) == 5 and result.decision is Decision.PASS
    history.mark_baseline("complete-outage", "pin", old, "the fast design", seeder.now())
    result = judge_scenario(history, "complete-outage", GatePolicy())
    assert "pinned" in result.baseline_note and "the fast design" in result.baseline_note
    assert [r.run_id for r in result.baseline_runs] == old
    assert result.decision is Decision.FAIL


def test_an_unknown_scenario_is_an_input_error(history: History) -> None:
    with pytest.raises(InputError, match="no run of scenario 'nope'"):
        judge_scenario(history, "nope", GatePolicy())


@pytest.mark.parametrize(
    "kwargs",
    [{"alpha": 0.0}, {"alpha": 1.5}, {"min_relative": -1}, {"baseline_runs": 0}],
)
def test_a_bad_policy_is_an_input_error(kwargs: dict[str, float]) -> None:
    with pytest.raises(InputError):
        GatePolicy(**kwargs)  # type: ignore[arg-type]


def test_an_unknown_metric_floor_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown metric 'mttr'"):
        GatePolicy(min_absolute={"mttr": 1.0})


def test_faster_is_said_plainly() -> None:
    check = judge_metric(RTO, [2.0] * 10, [1.0] * 5, GatePolicy())
    assert check.decision is Decision.PASS
    assert check.why == "median 2.000 s -> 1.000 s: no slower than the baseline"


def _scenario_fails(
    rng: random.Random, n: int, m: int, policy: GatePolicy, *, independent: bool
) -> bool:
    """One scenario's whole metric set, judged in memory: RTO log-normal (sigma 0.3); downtime
    = RTO - TTD as a drill measures it, or (independent) a noise of its own; TTD and p95 with
    their own noise at sizes seen on the sandbox (tens of ms), or (independent) at sizes where
    their floors never bind."""

    def sample(k: int) -> dict[str, list[float]]:
        rto = noisy(rng, k, 2.4)
        scale = 30.0 if independent else 0.06
        ttd = noisy(rng, k, scale)
        down = noisy(rng, k, 2.3) if independent else [r - t for r, t in zip(rto, ttd, strict=True)]
        p95 = noisy(rng, k, scale if independent else 0.02)
        return {"rto": rto, "ttd": ttd, "downtime": down, "p95_fault": p95}

    base, new = sample(n), sample(m)
    return any(
        judge_metric(metric, base[metric.key], new[metric.key], policy).decision is Decision.FAIL
        for metric in METRICS
        if metric.key in base
    )


def test_a_whole_scenario_false_alarms_at_about_alpha_over_many_seeds() -> None:
    """No change, 4000 seeded scenarios of 10 baseline and 5 new runs, every metric judged as
    the gate does: downtime moves with RTO (it is RTO less TTD) and TTD and p95 are too small to
    cross their floors by noise, so a scenario errs at about alpha, not alpha x metrics."""
    rng = random.Random(12)
    trials = 4000
    alarms = sum(
        _scenario_fails(rng, 10, 5, GatePolicy(), independent=False) for _ in range(trials)
    )
    assert alarms <= trials * 0.01 + 3 * (trials * 0.01 * 0.99) ** 0.5  # 1 %: at most 1.5 %


def test_independent_noisy_metrics_add_up_to_alpha_each_at_most() -> None:
    """What alpha per scenario and metric means when four metrics are noisy independently and
    large enough for every floor: a scenario errs more often than alpha, never more than 4 x
    alpha (the union bound the README states)."""
    rng = random.Random(13)
    trials = 4000
    alarms = sum(_scenario_fails(rng, 10, 5, GatePolicy(), independent=True) for _ in range(trials))
    assert trials * 0.01 < alarms <= trials * 0.04 + 3 * (trials * 0.04 * 0.96) ** 0.5


def test_fifty_percent_slower_fails_five_against_ten_over_many_seeds() -> None:
    """Power, not one lucky seed: +50 % RTO, 10 baseline and 5 new runs with the spread of a
    reused sandbox's RTOs (sigma 0.1) fails in at least 98 % of 500 seeded trials."""
    rng = random.Random(21)
    trials = 500
    fails = sum(
        judge_metric(RTO, noisy(rng, 10, 2.0, 0.1), noisy(rng, 5, 3.0, 0.1), GatePolicy()).decision
        is Decision.FAIL
        for _ in range(trials)
    )
    assert fails >= trials * 0.98


def test_a_pipeline_judges_its_own_invocation_in_a_shared_history(history: History) -> None:
    """A team history also holds other pipelines' and the CronJobs' runs: one recorded after
    this pipeline's must not be judged in its place (here a CronJob's, on a cluster, that would
    pass with no baseline while this pipeline's runs regressed)."""
    sandbox = Seeder(history)
    sandbox.invocation([1.5] * 10)
    sandbox.invocation([7.5] * 4, name="github-123-1")
    Seeder(history, kind="kubernetes", count=100).invocation([30.0] * 3, name="cron-1")
    newest = judge_scenario(history, "complete-outage", GatePolicy())
    assert newest.invocation_id == "cron-1" and newest.decision is Decision.PASS
    result = gate(history, [], GatePolicy(), invocation="github-123-1")
    (mine,) = result.scenarios
    assert mine.invocation_id == "github-123-1" and mine.target_kind == "sandbox"
    assert mine.decision is Decision.FAIL and len(mine.baseline_runs) == 10
    with pytest.raises(InputError, match="no run of invocation 'github-9-1'"):
        gate(history, [], GatePolicy(), invocation="github-9-1")
    with pytest.raises(InputError, match="no run of scenario 'database-failover' in invocation"):
        gate(history, ["database-failover"], GatePolicy(), invocation="github-123-1")
