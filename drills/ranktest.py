"""The exact one-sided Mann-Whitney (Wilcoxon rank-sum) test the CI gate decides with.

Why this test: recovery times on shared CI machines are noisy, skewed and have outliers, so the
gate compares ranks, not means (no normality assumed; one slow outlier moves a rank by one). With
the handful of runs a pipeline can afford (5 baseline, 4 new) only the *exact* permutation
distribution gives a p-value one can trust; normal approximations are wrong there. Ties (every run
lost 0 writes) are common, so the statistic uses mid-ranks and its null distribution is the exact
one *conditional on those ties*: under "no change" every split of the pooled values into a group
of m new runs is equally likely, and p is the share of splits whose new runs rank at least as high
as observed. That test is exact at any size, so its false-alarm rate is at most alpha.

The distribution is counted with a generating function: for each pooled value with doubled
mid-rank r, the counts of subsets of size k by rank sum gain a copy of the counts for size k-1
shifted by r. The counts are packed into one Python integer per k (fixed-width digits), so a
shift is a bit shift and the whole count is a few hundred big-integer additions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import comb

__all__ = ["RankTest", "min_p_value", "rank_test"]


@dataclass(frozen=True)
class RankTest:
    """The result: U = pairs (new, baseline) where new is larger (ties count one half), and the
    exact one-sided p-value of a U at least this large if nothing changed."""

    u: float
    p_value: float
    n_baseline: int
    n_new: int


def min_p_value(n_baseline: int, n_new: int) -> float:
    """The smallest p-value these sample sizes can give (no ties): 1 / C(n + m, m)."""
    return 1.0 / comb(n_baseline + n_new, n_new)


def _doubled_midranks(values: Sequence[float]) -> list[int]:
    """2 x the mid-rank of each value (integers: a mid-rank is a whole or a half number)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        doubled = (i + 1) + (j + 1)  # 2 x the mean of ranks i+1 .. j+1
        for k in range(i, j + 1):
            ranks[order[k]] = doubled
        i = j + 1
    return ranks


def _sum_counts(ranks: Sequence[int], size: int) -> list[int]:
    """counts[s]: how many subsets of `size` of `ranks` have sum s."""
    largest = comb(len(ranks), min(size, len(ranks) // 2))  # the most subsets of any size <= size
    width = largest.bit_length() + 1  # so no digit ever carries into the next
    by_size = [1] + [0] * size  # by_size[k]: digit s counts subsets of size k with sum s
    for r in ranks:
        for k in range(size, 0, -1):
            by_size[k] += by_size[k - 1] << (r * width)
    packed = by_size[size]
    mask = (1 << width) - 1
    counts: list[int] = []
    while packed:
        counts.append(packed & mask)
        packed >>= width
    return counts


def rank_test(baseline: Sequence[float], new: Sequence[float]) -> RankTest:
    """Exact one-sided test that `new` tends to be larger than `baseline`."""
    n, m = len(baseline), len(new)
    if n == 0 or m == 0:
        raise ValueError("both samples need at least one value")
    pooled = [*baseline, *new]
    ranks = _doubled_midranks(pooled)
    observed = sum(ranks[n:])
    counts = _sum_counts(ranks, m)
    at_least = sum(counts[observed:])
    p_value = at_least / comb(n + m, m)
    u = observed / 2 - m * (m + 1) / 2  # Mann-Whitney U of the new sample
    return RankTest(u=u, p_value=min(1.0, p_value), n_baseline=n, n_new=m)
