"""Loss per store: the canary read back from PostgreSQL and from the graph store (neo4j).

Every record is written to both stores before it is acknowledged, so each store can lose writes
the other kept (a graph restored from an older snapshot, a PostgreSQL point-in-time restore). The
report shows each store's loss, and the top-level figures are the worst store's, figure by figure.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from drills import measure
from drills.models import StoreReadback
from tests.engine.builders import fault_mark
from tests.engine.test_measure import canary_log

FAULT = 5.0


def _graph(n: int, missing: set[int], corrupt: frozenset[int] = frozenset()) -> StoreReadback:
    full = canary_log(n, 0.1, missing=missing, corrupt=corrupt)
    return StoreReadback("neo4j", full.readback)


def test_postgres_alone_gives_the_same_figures_as_before() -> None:
    log = canary_log(100, 0.1, missing={60, 61})
    assert measure.store_losses(log, FAULT) == {}
    m = measure.compute([], [fault_mark(FAULT)], log, started_at=0.0, ended_at=10.0)
    assert m.stores == {}
    assert (m.writes_lost, m.rpo_seconds) == (2, measure.measure_canary(log, FAULT).rpo_seconds)


def test_the_graph_losing_more_makes_it_the_worst_store() -> None:
    # postgres lost nothing; the graph came back from a snapshot taken at t=3 s (seq 30 on)
    log = replace(canary_log(100, 0.1), stores=(_graph(100, set(range(30, 100))),))
    m = measure.compute([], [fault_mark(FAULT)], log, started_at=0.0, ended_at=10.0)
    assert m.stores["postgres"].writes_lost == 0 and m.stores["postgres"].rpo_seconds == 0.0
    assert m.stores["neo4j"].writes_lost == 70
    assert m.writes_lost == 70
    assert m.writes_lost_after_fault == 50
    assert abs((m.rpo_seconds or 0) - (9.9 - 3.0)) < 1e-9


def test_worst_is_taken_figure_by_figure() -> None:
    log = replace(
        canary_log(100, 0.1, missing={45, 46, 47}),  # postgres: 3 lost before the fault
        stores=(_graph(100, {49}, corrupt=frozenset({80, 81})),),  # graph: 1 lost, 2 corrupted
    )
    m = measure.compute([], [fault_mark(FAULT)], log, started_at=0.0, ended_at=10.0)
    assert m.writes_lost == 3
    assert m.writes_corrupted == 2
    assert abs((m.rpo_seconds or 0) - (FAULT - 4.5)) < 1e-9


def test_a_store_that_could_not_be_read_leaves_the_figure_unmeasured_naming_it() -> None:
    log = replace(
        canary_log(100, 0.1),
        stores=(StoreReadback("neo4j", None, "read-back failed: HTTPStatusError: 503"),),
    )
    m = measure.compute([], [fault_mark(FAULT)], log, started_at=0.0, ended_at=10.0)
    assert m.writes_lost is None and m.rpo_seconds is None
    assert m.unmeasured["writes_lost"] == "neo4j: read-back failed: HTTPStatusError: 503"
    assert m.stores["postgres"].writes_lost == 0
    body = m.stores["neo4j"].to_json()  # as report.json's measurements.stores holds it
    assert body["writes_lost"] is None
    assert body["unmeasured"]["writes_lost"].startswith("read-back failed")


@given(
    st.sets(st.integers(0, 99), max_size=30),
    st.sets(st.integers(0, 99), max_size=30),
)
def test_top_level_is_never_better_than_any_store(pg_lost: set[int], graph_lost: set[int]) -> None:
    log = replace(canary_log(100, 0.1, missing=pg_lost), stores=(_graph(100, graph_lost),))
    per = measure.store_losses(log, FAULT)
    worst = measure.worst_loss(per)
    assert worst.writes_lost == max(len(pg_lost), len(graph_lost))
    for loss in per.values():
        assert (worst.rpo_seconds or 0) >= (loss.rpo_seconds or 0)
        assert (worst.writes_lost_after_fault or 0) >= (loss.writes_lost_after_fault or 0)


def test_a_probe_sent_just_before_the_fault_and_cut_by_it_is_fault_traffic() -> None:
    # sent 2 ms before the fault, its answer cut by the crash 30 ms later: the fault's error,
    # not the steady state's (the runbook's steady error-rate objective judges the steady phase)
    from drills.models import Phase, Sample

    samples = [Sample(t / 10, "health", True, 0.005, known=t / 10 + 0.005) for t in range(50)]
    samples.append(Sample(FAULT - 0.002, "health", False, 0.03, known=FAULT + 0.028))
    samples += [Sample(FAULT + 0.1 + t / 10, "health", False, 0.01) for t in range(5)]
    samples += [Sample(FAULT + 1 + t / 10, "health", True, 0.005) for t in range(10)]
    m = measure.compute(samples, [fault_mark(FAULT)], None, started_at=0.0, ended_at=7.0)
    assert m.phases[Phase.STEADY].errors == 0
    assert sum(stats.errors for stats in m.phases.values()) == 6
