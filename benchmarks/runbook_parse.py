"""How long the runbook reader takes to turn the runbook into typed steps.

    .venv/bin/python -m benchmarks.runbook_parse [RUNBOOK.md] [--runs N]

Budget (issue 17): under 50 ms per parse. Prints the first (imports done) and the median, p95
and max of N parses of the same file, read from disk each time, as wall-clock time and as the CPU
time of this thread (on a busy shared machine the wall clock also counts time spent waiting for a
core; the CPU time is what the reader itself costs). The budget is judged on the median wall time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from drills.runbook import read_runbook

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "runbook" / "runbook.md"
BUDGET_MS = 50.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runbook", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(max(1, args.runs)):
        started, started_cpu = time.perf_counter(), time.thread_time()
        book = read_runbook(args.runbook)
        cpu.append((time.thread_time() - started_cpu) * 1000.0)
        wall.append((time.perf_counter() - started) * 1000.0)
    print(
        f"runbook {args.runbook.name}: {len(book.scenarios)} scenarios, {len(book.steps)} steps, "
        f"{len(book.objectives)} objectives, {len(book.cadence)} cadence entries"
    )
    for name, times in (("wall", wall), ("cpu", cpu)):
        ordered = sorted(times)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        print(
            f"parse {name} time over {len(times)} runs: first {times[0]:.2f} ms, "
            f"median {statistics.median(times):.2f} ms, p95 {p95:.2f} ms, max {ordered[-1]:.2f} ms"
        )
    median = statistics.median(wall)
    verdict = "met" if median < BUDGET_MS else "MISSED"
    print(f"budget {BUDGET_MS:.0f} ms (median wall): {verdict}")


if __name__ == "__main__":
    main()
