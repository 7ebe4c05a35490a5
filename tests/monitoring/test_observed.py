"""The alerts section of any drill: what the target's Prometheus saw, read after the run.

Pure tests pin how a range query of `ALERTS` becomes spans; one real drill on the shared sandbox
(monitoring compressed twentyfold) shows a database outage's alert in the report, with monitoring's
time to detect beside the harness's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drills.monitoring.observed import AlertSpan, ObservedAlerts, spans_from_range
from drills.monitoring.rules import load_rules
from drills.monitoring.timing import REAL, Timing
from drills.runner import Runner, RunRequest
from drills.settings import Settings
from drills.targets.sandbox.driver import SandboxTarget
from tests.monitoring.support import needs_monitoring

T0 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def series(name: str, state: str, seconds: list[float]) -> dict[str, Any]:
    return {
        "metric": {"alertname": name, "alertstate": state, "severity": "critical"},
        "values": [[(T0 + timedelta(seconds=s)).timestamp(), "1"] for s in seconds],
    }


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_pending_then_firing_then_resolved_is_one_span() -> None:
    spans = spans_from_range(
        [series("Down", "pending", [10, 11, 12]), series("Down", "firing", [13, 14, 15])],
        1.0,
        T0,
    )
    assert spans == [AlertSpan("Down", at(10), at(13), None)]


def test_a_gap_ends_a_span_one_step_after_its_last_sample() -> None:
    spans = spans_from_range(
        [series("Down", "firing", [5, 6, 7, 20, 21]), series("Down", "pending", [4, 19])],
        1.0,
        T0,
    )
    assert spans == [
        AlertSpan("Down", at(4), at(5), at(8)),
        AlertSpan("Down", at(19), at(20), None),
    ]


def test_an_alert_active_when_the_window_opens_is_said_so() -> None:
    (span,) = spans_from_range([series("Old", "firing", [0, 1, 2])], 1.0, T0)
    assert span.active_at_start
    assert span.firing_at == at(0)
    note = ObservedAlerts("http://p", (span,)).summary(at(1))
    assert "Old already active before the drill" in note


def test_other_series_are_ignored() -> None:
    odd = {"metric": {"alertname": "X", "alertstate": "inactive"}, "values": [[1.0, "1"]]}
    assert spans_from_range([odd, {"metric": {}, "values": [[1.0, "1"]]}], 1.0, T0) == []


@given(
    st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=60, unique=True),
    st.data(),
)
def test_every_sample_lies_in_exactly_one_span(seconds: list[int], data: st.DataObject) -> None:
    firing = data.draw(st.sets(st.sampled_from(seconds)))
    pending = [s for s in seconds if s not in firing]
    spans = spans_from_range(
        [
            series("A", "pending", [float(s) for s in pending]),
            series("A", "firing", sorted(firing)),
        ],
        1.0,
        T0,
    )
    for s in seconds:
        inside = [
            span
            for span in spans
            if span.began_at <= at(s) and (span.resolved_at is None or at(s) < span.resolved_at)
        ]
        assert len(inside) == 1
    assert sum(1 for span in spans if span.resolved_at is None) == 1  # only the last is open
    assert all(span.firing_at is None or span.began_at <= span.firing_at for span in spans)


def test_measurements_name_each_alert_and_time_monitoring_from_the_fault() -> None:
    observed = ObservedAlerts(
        "http://p",
        (
            AlertSpan("Slow", at(3), None, at(9)),
            AlertSpan("Down", at(4), at(6), at(12)),
            AlertSpan("Down", at(20), at(21), None),  # a second span: the lane shows the first
        ),
        for_seconds={"Slow": 180.0, "Down": 0.0},
    )
    m = observed.measurements(at(2))
    assert m["alert_Down_firing_at"] == at(6).isoformat()
    assert m["alert_Down_resolved_at"] == at(12).isoformat()
    assert "alert_Slow_firing_at" not in m  # never fired: the note says so
    assert m["alerts_fired"] == 1
    assert m["monitoring_ttd_seconds"] == 4.0
    note = observed.summary(at(2))
    assert "Slow pending +1.0 s never fired (its for: is 3 min) resolved +7.0 s" in note
    assert "Down pending +2.0 s fired +4.0 s resolved +10.0 s" in note


def test_unreadable_monitoring_is_a_note_not_a_measurement() -> None:
    observed = ObservedAlerts("http://p", problem="Prometheus at http://p does not answer")
    assert observed.measurements(at(0)) == {}
    assert observed.summary(at(0)) == (
        "monitoring: alerts not read (Prometheus at http://p does not answer)"
    )


@pytest.mark.integration
@pytest.mark.slow
@needs_monitoring
def test_a_database_outage_shows_its_alert_beside_the_harness_ttd(
    sandbox_target: SandboxTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILLS_HOME", str(tmp_path / "home"))
    sandbox_target.configure_monitoring(Timing.at_scale(0.05), load_rules())
    try:
        out = tmp_path / "run"
        target = f"sandbox:{sandbox_target.sandbox.layout.root}"
        Runner(Settings.from_environ()).run(
            RunRequest("database-connection-failure", target=target, out=out)
        )
    finally:
        sandbox_target.configure_monitoring(REAL, load_rules())
    report = json.loads((out / "report.json").read_text())
    m = report["measurements"]
    assert m["alert_MaestroDatabaseConnectionFailures_firing_at"] is not None, report["notes"]
    assert m["alerts_fired"] >= 1
    assert 0 < m["monitoring_ttd_seconds"] < 30
    note = next(n for n in report["notes"] if n.startswith("monitoring: "))
    assert "MaestroDatabaseConnectionFailures" in note and "fired +" in note
    html = (out / "report.html").read_text()
    assert 'data-alert="MaestroDatabaseConnectionFailures"' in html
    assert "Time to detect by monitoring" in (out / "report.md").read_text()
