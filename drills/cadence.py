"""The runbook's drill cadence, in one table, and which drills are due or overdue by it.

The runbook (Testing and Validation) fixes the cadence: monthly database failover testing,
quarterly full disaster-recovery simulation, semi-annual cross-region failover, annual complete
rebuild; its test commands (backup restore, circuit breakers) ride with the monthly database
test. `CADENCES` below is the only place that says which drills run how often and when:

- the experiments' `cadence:<name>` tags must agree with it (a test reads every file);
- `drills due` reads it: each drill is due one interval after its last run that proved something
  (verdict met or missed; an invalid or aborted drill does not count), and overdue once a grace
  period (a tenth of the interval) has passed too; a drill never run is overdue;
- `drills run --suite NAME` runs the drills of a cadence, `drills schedule` emits one CronJob per
  cadence running that whole suite at `cron`, and `drills ci --suite NAME` puts them in a pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from drills.errors import UnknownScenarioError
from drills.history import History
from drills.models import Verdict

__all__ = ["CADENCES", "COUNTED", "Cadence", "DueDrill", "DueState", "cadence_named", "due"]


@dataclass(frozen=True)
class Cadence:
    """One cadence of the runbook: how often, when a cluster runs it (cron, UTC), which drills,
    and how long its whole suite may take at most on a cluster."""

    name: str
    interval: timedelta
    cron: str
    drills: tuple[str, ...]
    deadline_seconds: int


# The schedules sit at 04:00 UTC, away from the runbook's 02:00 UTC full backup, on different days
# of the month so cadences never start together (the namespace Lease would refuse the second).
CADENCES: tuple[Cadence, ...] = (
    Cadence(
        "monthly",
        timedelta(days=31),
        "0 4 8 * *",
        # the circuit-breaker test is the runbook's check of what trips when the databases fail:
        # it rides with the monthly database failover test (like the backup-restore test); the
        # alert drill proves monthly that the runbook's alerts still reach someone
        ("database-failover", "backup-restore-test", "circuit-breaker-test", "monitoring-alerts"),
        3 * 3600,
    ),
    Cadence(
        "quarterly",
        timedelta(days=92),
        "0 4 15 1,4,7,10 *",
        ("complete-outage", "data-corruption", "database-connection-failure", "traffic-flood"),
        6 * 3600,
    ),
    Cadence(
        "semi-annual",
        timedelta(days=183),
        "0 4 22 3,9 *",
        ("cross-region-failover",),
        3 * 3600,
    ),
    Cadence(
        "annual",
        timedelta(days=366),
        "0 4 22 6 *",
        ("infrastructure-rebuild",),
        6 * 3600,
    ),
)

COUNTED = (Verdict.MET, Verdict.MISSED)


def cadence_named(name: str, table: Sequence[Cadence] = CADENCES) -> Cadence:
    """The cadence called `name` (else UnknownScenarioError naming the known ones)."""
    for cadence in table:
        if cadence.name == name:
            return cadence
    known = ", ".join(c.name for c in table)
    raise UnknownScenarioError(f"no scenarios in suite {name!r} (cadences: {known})")


class DueState(StrEnum):
    OK = "ok"
    DUE = "due"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class DueDrill:
    scenario: str
    cadence: str
    last_run: datetime | None
    due_at: datetime | None
    state: DueState

    def to_json(self) -> dict[str, str | None]:
        return {
            "scenario": self.scenario,
            "cadence": self.cadence,
            "last_run": None if self.last_run is None else self.last_run.isoformat(),
            "due_at": None if self.due_at is None else self.due_at.isoformat(),
            "state": self.state.value,
        }


def due(
    history: History | None,
    now: datetime,
    target: str | None = None,
    table: Sequence[Cadence] = CADENCES,
) -> list[DueDrill]:
    """Every drill of the cadence table with its state, overdue first."""
    found: list[DueDrill] = []
    for cadence in table:
        for scenario in cadence.drills:
            last = history.last_run_at(scenario, target, verdicts=COUNTED) if history else None
            if last is None:
                found.append(DueDrill(scenario, cadence.name, None, None, DueState.OVERDUE))
                continue
            due_at = last + cadence.interval
            if now < due_at:
                state = DueState.OK
            elif now < due_at + cadence.interval / 10:
                state = DueState.DUE
            else:
                state = DueState.OVERDUE
            found.append(DueDrill(scenario, cadence.name, last, due_at, state))
    order = {DueState.OVERDUE: 0, DueState.DUE: 1, DueState.OK: 2}
    return sorted(found, key=lambda d: (order[d.state], d.cadence, d.scenario))
