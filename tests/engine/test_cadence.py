"""Which drills are due: one interval after the last run that proved something."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from drills.cadence import CADENCES, Cadence, DueState, cadence_named, due
from drills.errors import UnknownScenarioError
from drills.history import History
from drills.models import Verdict
from tests.engine.builders import result

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def table(*rows: tuple[str, str]) -> tuple[Cadence, ...]:
    """A cadence table of (cadence, drill) rows, the intervals and crons the runbook's."""
    return tuple(
        Cadence(c.name, c.interval, c.cron, tuple(d for k, d in rows if k == c.name), 3600)
        for c in CADENCES
    )


def test_due_states_from_history(tmp_path: Path) -> None:
    catalog = table(
        ("monthly", "database-failover"),
        ("quarterly", "complete-outage"),
        ("annual", "infrastructure-rebuild"),
    )
    with History(tmp_path / "h.sqlite") as history:
        # failover: last met on 2025-05-01 (31 days: due 2025-06-01, i.e. now)
        history.record(
            result("f1", scenario="database-failover", anchor_utc="2025-05-01T00:00:00Z")
        )
        # outage: met 2025-03-01 (due 2025-06-01 too) but a later invalid run must not count
        history.record(result("o1", scenario="complete-outage", anchor_utc="2025-03-01T00:00:00Z"))
        history.record(
            result(
                "o2",
                scenario="complete-outage",
                anchor_utc="2025-05-20T00:00:00Z",
                verdict=Verdict.INVALID,
            )
        )
        rows = {r.scenario: r for r in due(history, NOW, table=catalog)}
    assert set(rows) == {"database-failover", "complete-outage", "infrastructure-rebuild"}
    assert rows["database-failover"].state is DueState.DUE
    assert rows["complete-outage"].state is DueState.DUE  # the invalid run proved nothing
    assert rows["complete-outage"].last_run == datetime(2025, 3, 1, tzinfo=UTC)
    assert rows["infrastructure-rebuild"].state is DueState.OVERDUE  # never run
    assert rows["infrastructure-rebuild"].last_run is None


def test_recent_run_is_ok_and_long_ago_is_overdue(tmp_path: Path) -> None:
    catalog = table(("monthly", "database-failover"))
    with History(tmp_path / "h.sqlite") as history:
        history.record(result("f1", anchor_utc="2025-05-25T00:00:00Z"))
        assert due(history, NOW, table=catalog)[0].state is DueState.OK
        late = datetime(2025, 7, 15, tzinfo=UTC)
        assert due(history, late, table=catalog)[0].state is DueState.OVERDUE


def test_an_unknown_cadence_names_the_known_ones() -> None:
    assert cadence_named("monthly").drills[0] == "database-failover"
    with pytest.raises(UnknownScenarioError, match="monthly, quarterly, semi-annual, annual"):
        cadence_named("weekly")
