"""The runbook's drill cadence: which drills are due or overdue, from the history.

Monthly database failover, quarterly full DR simulation, semi-annual cross-region failover,
annual rebuild: each scenario tagged `cadence:<name>` is due one interval after its last run that
proved something (verdict met or missed; an invalid or aborted drill does not count), and overdue
once a grace period (a tenth of the interval) has passed too. A drill never run is overdue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from drills.catalog import Scenario
from drills.history import History
from drills.models import Verdict

INTERVALS = {
    "monthly": timedelta(days=31),
    "quarterly": timedelta(days=92),
    "semi-annual": timedelta(days=183),
    "annual": timedelta(days=366),
}
COUNTED = (Verdict.MET, Verdict.MISSED)


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
    scenarios: Sequence[Scenario], history: History | None, now: datetime, target: str | None = None
) -> list[DueDrill]:
    """Every cadence-tagged scenario with its state, overdue first."""
    found: list[DueDrill] = []
    for scenario in scenarios:
        for cadence in scenario.cadence:
            interval = INTERVALS.get(cadence)
            if interval is None:
                continue
            last = history.last_run_at(scenario.name, target, verdicts=COUNTED) if history else None
            if last is None:
                found.append(DueDrill(scenario.name, cadence, None, None, DueState.OVERDUE))
                continue
            due_at = last + interval
            if now < due_at:
                state = DueState.OK
            elif now < due_at + interval / 10:
                state = DueState.DUE
            else:
                state = DueState.OVERDUE
            found.append(DueDrill(scenario.name, cadence, last, due_at, state))
    order = {DueState.OVERDUE: 0, DueState.DUE: 1, DueState.OK: 2}
    return sorted(found, key=lambda d: (order[d.state], d.cadence, d.scenario))
