"""Drill results as Prometheus series: a node-exporter textfile and a Pushgateway push, both read
back with prometheus_client's own text parser; the Grafana dashboard queries only those series."""

from __future__ import annotations

import math
import socket
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from drills.cadence import DueDrill, DueState
from drills.dashboard import EXPORTED_SERIES, grafana_dashboard, queried_series
from drills.errors import InputError
from drills.metrics import (
    RUN_SERIES,
    MetricsError,
    due_points,
    push,
    run_points,
    validate_gateway_url,
    write_textfile,
)
from drills.models import Verdict
from tests.pushgateway import recording_pushgateway
from tests.reports.runs import aborted_run, met_run, missed_run

Series = dict[str, dict[tuple[tuple[str, str], ...], float]]


def parse(text: str) -> Series:
    """series name -> {sorted labels: value}, through prometheus_client's parser."""
    out: Series = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_textfile_holds_the_five_series_of_a_run(tmp_path: Path) -> None:
    result = missed_run().result
    path = tmp_path / "drills.prom"
    write_textfile(path, run_points(result))
    series = parse(path.read_text())
    assert set(series) == set(RUN_SERIES)
    labels = (("scenario", "complete-outage"), ("target", "staging"))
    assert series["drills_rto_seconds"] == {labels: 950.0}
    assert series["drills_rpo_seconds"] == {labels: 4.2}
    assert series["drills_writes_lost"] == {labels: 42.0}
    verdicts = {dict(k)["verdict"]: v for k, v in series["drills_verdict"].items()}
    assert verdicts == {"met": 0.0, "missed": 1.0, "invalid": 0.0, "aborted": 0.0}
    # the run ended 1000 s after its anchor, 2025-04-02T14:00:00Z
    assert series["drills_last_run_timestamp_seconds"] == {labels: 1743602400.0 + 1000.0}
    assert not list(tmp_path.glob("*.tmp*")), "no temporary file left behind"


def test_unmeasured_values_are_nan_not_stale(tmp_path: Path) -> None:
    path = tmp_path / "drills.prom"
    write_textfile(path, run_points(aborted_run().result))
    series = parse(path.read_text())
    [rto] = series["drills_rto_seconds"].values()
    assert math.isnan(rto)


def test_a_shared_textfile_keeps_other_drills_and_replaces_this_one(tmp_path: Path) -> None:
    path = tmp_path / "drills.prom"
    path.write_text("# HELP other_metric not ours\n# TYPE other_metric gauge\nother_metric 7\n")
    met, missed = met_run().result, missed_run().result
    write_textfile(path, run_points(met))
    write_textfile(path, run_points(missed))
    again = replace(met, verdict=Verdict.MISSED, verdict_reason="slower this time")
    write_textfile(path, run_points(again))
    series = parse(path.read_text())
    scenarios = {dict(k)["scenario"] for k in series["drills_rto_seconds"]}
    assert scenarios == {"database-failover", "complete-outage"}
    failover = {
        dict(k)["verdict"]: v
        for k, v in series["drills_verdict"].items()
        if dict(k)["scenario"] == "database-failover"
    }
    assert failover == {"met": 0.0, "missed": 1.0, "invalid": 0.0, "aborted": 0.0}
    assert "other_metric" not in series  # only drills_* series are ours to keep


def test_unreadable_textfile_is_an_error_not_a_silent_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "drills.prom"
    path.write_text("drills_rto_seconds{scenario= broken\n")
    with pytest.raises(MetricsError, match="cannot read the metrics textfile"):
        write_textfile(path, run_points(met_run().result))
    assert "broken" in path.read_text()


def test_push_replaces_the_scenario_and_target_group() -> None:
    result = met_run().result
    with recording_pushgateway() as gateway:
        push(gateway.url, result)
    [pushed] = gateway.pushes
    assert pushed.method == "PUT"
    assert pushed.path == "/metrics/job/drills/scenario/database-failover/target/sandbox"
    series = parse(pushed.body)
    assert set(series) == set(RUN_SERIES)
    assert list(series["drills_rto_seconds"].values()) == [5.0]


def test_push_to_nowhere_is_a_metrics_error() -> None:
    with socket.socket() as sock:  # a loopback port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(MetricsError, match="cannot push metrics"):
        push(f"http://127.0.0.1:{port}", met_run().result, timeout_seconds=2.0)


@pytest.mark.parametrize("url", ["127.0.0.1:9091", "ftp://gw", "http://", "gateway"])
def test_gateway_url_must_be_http(url: str) -> None:
    with pytest.raises(InputError):
        validate_gateway_url(url)


def test_due_drills_become_overdue_series(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    last = datetime(2025, 1, 1, tzinfo=UTC)
    rows = [
        DueDrill(
            "database-failover", "monthly", last, datetime(2025, 2, 1, tzinfo=UTC), DueState.OVERDUE
        ),
        DueDrill("cross-region-failover", "semi-annual", None, None, DueState.OVERDUE),
        DueDrill(
            "complete-outage", "quarterly", last, datetime(2025, 4, 1, tzinfo=UTC), DueState.OK
        ),
    ]
    path = tmp_path / "due.prom"
    write_textfile(path, due_points(rows))
    series = parse(path.read_text())
    overdue = {dict(k)["scenario"]: v for k, v in series["drills_overdue"].items()}
    assert overdue == {
        "database-failover": 1.0,
        "cross-region-failover": 1.0,
        "complete-outage": 0.0,
    }
    never = series["drills_last_proven_run_timestamp_seconds"][
        (("cadence", "semi-annual"), ("scenario", "cross-region-failover"))
    ]
    assert math.isnan(never)


def test_dashboard_reads_only_the_exported_series() -> None:
    board = grafana_dashboard()
    read = queried_series(board)
    assert read <= EXPORTED_SERIES
    assert set(RUN_SERIES) <= read
    assert "drills_overdue" in read
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    rto = next(p for p in board["panels"] if p["title"] == "Recovery time (RTO)")
    steps = rto["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1]["value"] == 900.0  # the runbook's RTO objective
