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


def test_reported_alert_timelines_become_alert_lanes() -> None:
    """The monitoring drill reports each alert's pending/firing/resolved instants; the chart
    draws a lane per alert, pending in yellow and firing in red until it resolved."""
    from dataclasses import replace
    from datetime import datetime, timedelta

    from drills.reports.alert_lanes import alert_rows
    from drills.reports.chart import FAILED_FILL, MIXED_FILL, timeline_svg
    from tests.reports.runs import met_run

    run = met_run()
    anchor = datetime.fromisoformat(run.result.anchor_utc)

    def at(seconds: float) -> str:
        return (anchor + timedelta(seconds=seconds)).isoformat()

    extra = {
        **run.result.measurements.extra,
        "alert_service_unavailable_pending_at": at(5.0),
        "alert_service_unavailable_firing_at": at(8.0),
        "alert_service_unavailable_resolved_at": at(12.0),
        "alert_error_rate_firing_at": at(14.0),  # never resolved: firing to the end
        "alert_error_rate_resolved_at": None,
        "alert_Slow_pending_at": at(3.0),  # pending, never fired: an outage not paged for
        "alert_Slow_firing_at": None,
        "alert_Slow_resolved_at": at(9.0),
    }
    result = replace(run.result, measurements=replace(run.result.measurements, extra=extra))
    rows = alert_rows(result)
    assert [(r.name, r.pending, r.firing, r.resolved) for r in rows] == [
        ("Slow", 3.0, None, 9.0),
        ("service-unavailable", 5.0, 8.0, 12.0),
        ("error-rate", None, 14.0, None),
    ]
    svg = timeline_svg(result, run.samples, run.canary)
    assert 'data-alert="service-unavailable"' in svg
    assert 'data-alert="error-rate"' in svg
    assert "Slow: pending +3.00 s, never fired, resolved +9.00 s" in svg
    assert MIXED_FILL in svg and FAILED_FILL in svg
    assert "Alerts (pending, firing)" in svg
    assert "Alerts (pending, firing)" not in timeline_svg(run.result, run.samples, run.canary)
