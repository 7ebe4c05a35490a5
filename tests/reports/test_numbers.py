"""Rounded, unit-aware numbers and human labels: what every report format shows a reader."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drills.numbers import fmt_bytes, fmt_count, fmt_rate, fmt_seconds, fmt_value, significant
from drills.reports.labels import field_label, measurement_label, objective_label


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0129383, "12.9 ms"),
        (0.036, "36 ms"),
        (0.5, "500 ms"),
        (0.9996, "1 s"),
        (4.2, "4.2 s"),
        (5.0, "5 s"),
        (12.345, "12.3 s"),
        (59.96, "1 min 00 s"),
        (950.0, "15 min 50 s"),
        (900.0, "15 min 00 s"),
        (3725.0, "1 h 02 min"),
        (-50.0, "-50 s"),
        (0.0, "0 s"),
        (None, "—"),
    ],
)
def test_durations_read_in_the_unit_that_suits_them(seconds: float | None, text: str) -> None:
    assert fmt_seconds(seconds) == text


@given(st.floats(min_value=-1e7, max_value=1e7, allow_nan=False))
def test_a_duration_never_shows_more_than_three_significant_digits(seconds: float) -> None:
    text = fmt_seconds(seconds)
    assert "e" not in text
    for number in re.findall(r"\d+(?:\.\d+)?", text):
        if "." in number:
            assert len(number.replace(".", "").lstrip("0")) <= 3, text


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_significant_is_close_to_the_value(value: float) -> None:
    text = significant(value)
    assert "e" not in text
    assert abs(float(text) - value) <= max(abs(value) * 0.005, 1e-12)


def test_other_units() -> None:
    assert fmt_rate(0.0123) == "1.23 %"
    assert fmt_rate(0.8) == "80 %"
    assert fmt_count(98210) == "98,210"
    assert fmt_bytes(3_565_158) == "3.4 MiB"
    assert fmt_bytes(512) == "512 B"
    assert fmt_value(0.0129383, "ratio") == "1.29 %"
    assert fmt_value(3.0, "count") == "3"
    assert fmt_value(20.0, "writes/s") == "20 writes/s"


@pytest.mark.parametrize(
    ("key", "label", "unit"),
    [
        ("db_pool_peak_utilisation", "Peak DB pool use before the fault", "ratio"),
        ("postgres_breaker_close_seconds", "PostgreSQL breaker: time to close", "s"),
        ("neo4j_breaker_calls_until_open", "Neo4j breaker: calls until open", "count"),
        ("flood_rate_limited", "Flood: requests rate-limited", "count"),
        ("standby_rebuild_seconds", "Standby rebuild", "s"),
        ("wal_replay_seconds", "WAL replay", "s"),
        ("cache_hit_ratio", "Cache hit", "ratio"),
        ("mystery_value", "Mystery value", ""),
    ],
)
def test_every_measurement_key_gets_a_label_and_unit(key: str, label: str, unit: str) -> None:
    named = measurement_label(key)
    assert (named.text, named.unit) == (label, unit)


def test_objectives_and_fields_are_named_for_people() -> None:
    assert objective_label("rpo") == "Data loss window (RPO)"
    assert objective_label("p95_steady") == "p95 latency, steady state"
    assert objective_label("some_new_goal") == "Some new goal"
    assert field_label("rto_seconds") == "Recovery time (RTO)"
    assert field_label("phases.steady.error_rate") == "Error rate, steady phase"
    assert field_label("promote_seconds") == "Standby promotion"
