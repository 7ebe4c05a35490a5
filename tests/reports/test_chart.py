"""The chart's lane downsampling: merged segments, gaps, and per-pixel bucketing."""

from __future__ import annotations

from drills.models import Sample
from drills.reports.chart import LaneState, Segment, bucket, lane_segments


def _lane(states: str, step: float = 1.0) -> list[Sample]:
    return [Sample(i * step, "s", c == "o") for i, c in enumerate(states)]


def test_consecutive_equal_states_merge() -> None:
    segments = lane_segments(_lane("oooxxo"), end=100.0, fallback_interval=1.0)
    assert [(s.start, s.end, s.state, s.samples) for s in segments] == [
        (0.0, 3.0, LaneState.OK, 3),
        (3.0, 5.0, LaneState.FAILED, 2),
        (5.0, 6.0, LaneState.OK, 1),
    ]


def test_last_sample_never_runs_past_the_end() -> None:
    segments = lane_segments(_lane("oo"), end=1.5, fallback_interval=1.0)
    assert segments[-1].end == 1.5


def test_failed_segment_keeps_first_detail() -> None:
    samples = [Sample(0, "s", True), Sample(1, "s", False, detail="refused"), Sample(2, "s", False)]
    [_, failed] = lane_segments(samples, end=10.0, fallback_interval=1.0)
    assert failed.detail == "refused"


def test_bucketing_marks_mixed_columns_and_keeps_a_lone_failure() -> None:
    segments = [
        Segment(0.0, 50.0, LaneState.OK, 1),
        Segment(50.0, 50.01, LaneState.FAILED, 1),
        Segment(50.01, 100.0, LaneState.OK, 1),
    ]
    cut = bucket(segments, 0.0, 100.0, columns=10)
    assert [(s.start, s.end, s.state) for s in cut] == [
        (0.0, 50.0, LaneState.OK),
        (50.0, 60.0, LaneState.MIXED),
        (60.0, 100.0, LaneState.OK),
    ]


def test_bucketing_leaves_empty_columns_empty() -> None:
    cut = bucket([Segment(0.0, 10.0, LaneState.FAILED, 1)], 0.0, 100.0, columns=10)
    assert [(s.start, s.end, s.state) for s in cut] == [(0.0, 10.0, LaneState.FAILED)]
