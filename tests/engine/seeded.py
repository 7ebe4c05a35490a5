"""Seeded histories for the gate's tests: invocations of runs with chosen or random metrics."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from drills.history import History
from drills.models import Phase, PhaseStats, RunStatus, TargetRef, Verdict
from tests.engine.builders import measurements, result

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass
class Seeder:
    """Records invocations one after the other, each a minute after the previous run."""

    history: History
    scenario: str = "complete-outage"
    kind: str = "sandbox"
    count: int = 0

    def now(self) -> datetime:
        """Half a minute after the last run started."""
        return EPOCH + timedelta(minutes=self.count, seconds=30)

    def invocation(
        self,
        rtos: Sequence[float],
        *,
        lost: Sequence[int] | None = None,
        verdicts: Sequence[Verdict] | None = None,
        name: str | None = None,
    ) -> list[str]:
        """One invocation with one run per RTO (other times scale with RTO); its run ids."""
        invocation = name or f"inv-{self.scenario}-{self.count}"
        ids = []
        for i, rto in enumerate(rtos):
            self.count += 1
            run_id = f"{self.scenario}-{self.count:06d}"
            verdict = verdicts[i] if verdicts else Verdict.MET
            m = measurements(
                rto_seconds=rto,
                time_to_detect_seconds=0.1 + rto / 20,
                downtime_seconds=rto * 0.95,
                rpo_seconds=0.0,
                writes_lost=lost[i] if lost else 0,
                phases={Phase.FAULT: PhaseStats(Phase.FAULT, 100, 50, 0.5, 0.01 + rto / 50)},
            )
            at = EPOCH + timedelta(minutes=self.count)
            drill_result = result(
                run_id,
                scenario=self.scenario,
                anchor_utc=at.isoformat(),
                status=RunStatus.ABORTED if verdict is Verdict.ABORTED else RunStatus.COMPLETED,
                verdict=verdict,
                m=m,
            )
            drill_result = replace(
                drill_result,
                target=TargetRef("sandbox", self.kind),
                verdict_reason=f"{verdict.value}: seeded",
            )
            self.history.record(drill_result, invocation_id=invocation)
            ids.append(run_id)
        return ids


def noisy(rng: random.Random, n: int, median: float, sigma: float = 0.3) -> list[float]:
    """`n` log-normal values around `median` (sigma 0.3: about the spread of RTOs seen on a busy
    2-core CI machine)."""
    return [median * rng.lognormvariate(0.0, sigma) for _ in range(n)]
