"""The exact rank test: equal to brute-force enumeration, exact at its stated rate."""

from __future__ import annotations

import itertools
import random
from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drills.ranktest import min_p_value, rank_test

# few distinct values on purpose: ties (every run lost 0 writes) are the hard case
values = st.lists(
    st.one_of(st.sampled_from([0.0, 1.0, 2.5, 3.0]), st.floats(0, 100, allow_nan=False)),
    min_size=1,
    max_size=7,
)


def brute_force_p(baseline: list[float], new: list[float]) -> float:
    """P(U >= observed) over every split of the pooled values, U counting ties as one half."""

    def u(group: list[float], other: list[float]) -> float:
        return sum((x > y) + 0.5 * (x == y) for x in group for y in other)

    pooled = baseline + new
    observed = u(new, baseline)
    splits = list(itertools.combinations(range(len(pooled)), len(new)))
    at_least = 0
    for chosen in splits:
        group = [pooled[i] for i in chosen]
        other = [pooled[i] for i in range(len(pooled)) if i not in chosen]
        at_least += u(group, other) >= observed - 1e-9
    return at_least / len(splits)


@settings(max_examples=300, deadline=None)
@given(values, values)
def test_equals_brute_force_enumeration(baseline: list[float], new: list[float]) -> None:
    test = rank_test(baseline, new)
    assert test.p_value == pytest.approx(brute_force_p(baseline, new), abs=1e-12)
    assert test.u == sum((x > y) + 0.5 * (x == y) for x in new for y in baseline)


def test_five_against_four_can_reach_one_percent() -> None:
    test = rank_test([1.4, 1.5, 1.6, 1.5, 1.45], [7.0, 7.5, 8.0, 7.2])
    assert test.p_value == pytest.approx(1 / 126) == min_p_value(5, 4)
    assert test.p_value < 0.01
    assert min_p_value(4, 4) == 1 / 70 and min_p_value(5, 3) == 1 / 56  # both above 1 %


def test_all_ties_is_no_evidence() -> None:
    assert rank_test([0, 0, 0, 0, 0], [0, 0, 0, 0]).p_value == 1.0


def test_a_faster_new_sample_is_not_a_regression() -> None:
    assert rank_test([5.0, 6.0, 7.0, 8.0, 9.0], [1.0, 2.0, 3.0, 4.0]).p_value == 1.0


def test_false_alarm_rate_is_at_most_alpha_under_no_change() -> None:
    """Over 3000 seeded trials from one distribution, p <= 1 % at most about 1 % of the time."""
    rng = random.Random(12)
    trials, alpha = 3000, 0.01
    alarms = 0
    for _ in range(trials):
        pooled = [rng.lognormvariate(0, 0.3) for _ in range(15)]
        alarms += rank_test(pooled[:10], pooled[10:]).p_value <= alpha
    # binomial(3000, 0.01): mean 30, sd 5.4; exact tests are at or below alpha
    assert alarms <= trials * alpha + 3 * (trials * alpha * (1 - alpha)) ** 0.5


def test_large_samples_stay_fast_and_exact() -> None:
    rng = random.Random(3)
    baseline = [rng.random() for _ in range(40)]
    new = [x + 10 for x in baseline[:20]]
    assert rank_test(baseline, new).p_value == pytest.approx(1 / comb(60, 20))
