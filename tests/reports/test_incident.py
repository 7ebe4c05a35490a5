"""The runbook's communication templates, filled from a run and marked as a drill."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drills.models import Sample
from drills.reports.incident import (
    DRILL_BANNER,
    Severity,
    build_incident_texts,
    complete_outage,
    recovery_activities,
    scenario_severity,
)
from tests.reports.runs import Run, aborted_run, invalid_run, met_run, missed_run


@pytest.mark.parametrize(
    ("scenario", "severity"),
    [
        ("complete-outage", Severity.CRITICAL),
        ("cross-region-failover", Severity.CRITICAL),
        ("infrastructure-rebuild", Severity.CRITICAL),
        ("data-corruption", Severity.CRITICAL),
        ("database-failover", Severity.HIGH),
        ("database-connection-issues", Severity.HIGH),
        ("traffic-flood", Severity.HIGH),
        ("circuit-breaker-test", Severity.MEDIUM),
        ("monitoring-alert-test", Severity.MEDIUM),
    ],
)
def test_scenario_severity(scenario: str, severity: Severity) -> None:
    assert scenario_severity(scenario) is severity


def test_complete_outage_needs_every_critical_signal_down_at_once() -> None:
    staggered = [
        Sample(1.0, "a", False),
        Sample(1.0, "b", True),
        Sample(2.0, "a", True),
        Sample(2.0, "b", False),
        Sample(2.0, "info", False, critical=False),
    ]
    assert not complete_outage(staggered, 0.0, 10.0)
    together = [*staggered, Sample(3.0, "a", False)]
    assert complete_outage(together, 0.0, 10.0)
    assert not complete_outage(together, 0.0, 2.5)


def test_every_text_is_marked_as_a_drill(run: Run) -> None:
    texts = build_incident_texts(run.result, run.samples)
    for text in (texts.declaration, texts.resolution):
        assert text.startswith(DRILL_BANNER)
        assert "[DRILL]" in text


def test_declaration_is_filled_from_the_run() -> None:
    run = met_run()
    texts = build_incident_texts(run.result, run.samples)
    lines = texts.declaration.splitlines()
    assert "Start Time: 2025-03-14T09:27:03.589793Z" in lines
    assert "Status: Investigating" in lines
    actions = lines[lines.index("Actions Taken:") + 1 : lines.index("Actions Taken:") + 5]
    assert [line.split()[3] for line in actions] == [
        "kill-postgres-primary",
        "promote-standby",
        "wait-for-writable",
        "reset-circuit-breakers",
    ]
    # every critical signal went down together: a complete outage, severity 1
    assert texts.severity is Severity.CRITICAL
    assert "Complete outage" in texts.declaration
    # next update 15 minutes after detection at CRITICAL
    assert "Next Update: 2025-03-14T09:42:04.089793Z" in lines


def test_resolution_lists_recovery_activities_and_duration() -> None:
    run = met_run()
    assert [a.name for a in recovery_activities(run.result)] == [
        "promote-standby",
        "wait-for-writable",
        "reset-circuit-breakers",
    ]
    text = build_incident_texts(run.result, run.samples).resolution
    assert "✅ [DRILL] INCIDENT RESOLVED" in text
    assert "Incident Duration: 5 s (RTO, fault to recovery); downtime 4.5 s" in text
    assert "Root Cause: fault injected by the drill 'Database failover (monthly)'" in text


def test_partial_degradation_keeps_the_scenario_severity() -> None:
    run = met_run()
    samples = [s for s in run.samples if s.signal != "graphql-health"]
    samples += [
        Sample(s.t, "graphql-health", True) for s in run.samples if s.signal == "graphql-health"
    ]
    texts = build_incident_texts(run.result, samples)
    assert texts.severity is Severity.HIGH
    assert "Critical signals failing: api-health, postgres." in texts.declaration


def test_data_loss_is_critical_and_missed_objectives_are_follow_ups() -> None:
    run = missed_run()
    texts = build_incident_texts(run.result, run.samples)
    assert texts.severity is Severity.CRITICAL
    assert (
        "42 acknowledged writes lost (data loss window, RPO 4.2 s), 1 corrupted."
        in texts.declaration
    )
    assert (
        "every critical signal failed: api-health, graphql-health."
        " Informational signals failing: latency-probe." in texts.declaration
    )
    assert "address missed objectives: rto (measured 15 min 50 s" in texts.resolution


def test_missed_objective_raises_the_scenario_severity() -> None:
    run = missed_run()
    quiet = replace(
        run.result,
        drill=replace(run.result.drill, scenario="circuit-breaker-test"),
        measurements=replace(run.result.measurements, writes_lost=0, writes_corrupted=0),
    )
    samples = [s for s in run.samples if s.signal != "graphql-health"]
    samples += [
        Sample(s.t, "graphql-health", True) for s in run.samples if s.signal == "api-health"
    ]
    assert build_incident_texts(quiet, samples).severity is Severity.HIGH


def test_no_fault_means_no_impact_and_no_resolution() -> None:
    run = invalid_run()
    texts = build_incident_texts(run.result, run.samples)
    assert texts.severity is Severity.MEDIUM
    assert "Impact: None: no fault was injected." in texts.declaration
    assert "⚠️ [DRILL] NO INCIDENT TO RESOLVE" in texts.resolution
    assert "Incident Duration: not measured: no fault was injected" in texts.resolution
    assert "Root Cause: none: the drill injected no fault" in texts.resolution
    assert "rerun the drill: verdict invalid" in texts.resolution


def test_aborted_run_is_not_resolved() -> None:
    run = aborted_run()
    text = build_incident_texts(run.result, run.samples).resolution
    assert "❌ [DRILL] INCIDENT NOT RESOLVED" in text
    assert "Incident Duration: not measured: no recovery (the run was aborted" in text
    assert "Resolution (attempted):" in text
    assert "promote-standby-region (action, no status)" in text
