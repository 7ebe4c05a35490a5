"""The harness's own CPU use during a drill, and the drill's wall time.

    .venv/bin/python -m benchmarks.drill_overhead [--runs N] [SCENARIO ...]

Runs each scenario (default: complete-outage) N times (default 3) on a fresh sandbox in this
process and prints for each run:
wall time of the whole drill (budget: under 60 s), and the CPU time of the harness process alone
(sampler, canary, Chaos Toolkit, probes and actions; not the sandbox's servers, which are other
processes) as a share of one core over the measured part (budget: under 10 %), with the canary's
achieved rate and the sampler's achieved resolution, and where that CPU went by thread (canary,
sampler, Chaos Toolkit's main thread with the in-process recovery actions; "unattributed" is the
process total less the threads' own figures, which the kernel keeps in 10 ms ticks). Then the
median and range of the measured-part share: one run's figure moves by a point or two on a
quiet 2-core VM, where waking a sleeping thread alone costs about 70 us of CPU.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psutil

from drills.runner import Runner, RunRequest
from drills.session import MeasurementSession, SessionData
from drills.settings import Settings


def _thread_cpu(me: psutil.Process) -> dict[int, float]:
    return {t.id: t.user_time + t.system_time for t in me.threads()}


def _group(name: str) -> str:
    """A thread's group: its name without a worker number (`canary-1` -> `canary`)."""
    return re.sub(r"-\d+$", "", name)


class MeasuredWindow:
    """CPU and wall time between the session's start and stop (the measured part of a drill),
    and the CPU by thread group, read just before the session stops its threads."""

    def __init__(self) -> None:
        self.cpu = self.wall = 0.0
        self.by_thread: Counter[str] = Counter()
        me = psutil.Process()
        start, stop = MeasurementSession.start, MeasurementSession.stop
        window = self
        at_start: dict[int, float] = {}

        def timed_start(session: MeasurementSession) -> None:
            times = me.cpu_times()
            window.cpu, window.wall = -(times.user + times.system), -time.monotonic()
            at_start.clear()
            at_start.update(_thread_cpu(me))
            start(session)

        def timed_stop(session: MeasurementSession, **kwargs: bool) -> SessionData:
            names = {t.native_id: t.name for t in threading.enumerate()}
            window.by_thread.clear()
            for tid, cpu in _thread_cpu(me).items():
                window.by_thread[_group(names.get(tid, "other"))] += cpu - at_start.get(tid, 0.0)
            times = me.cpu_times()
            rest = times.user + times.system + window.cpu - sum(window.by_thread.values())
            window.by_thread["unattributed"] += max(0.0, rest)
            data = stop(session, **kwargs)
            times = me.cpu_times()
            window.cpu += times.user + times.system
            window.wall += time.monotonic()
            return data

        MeasurementSession.start = timed_start  # type: ignore[method-assign]
        MeasurementSession.stop = timed_stop  # type: ignore[method-assign]


def main(scenarios: list[str], runs: int) -> None:
    os.environ.setdefault("DRILLS_HOME", tempfile.mkdtemp(prefix="drills-bench-home-"))
    window = MeasuredWindow()
    for scenario in scenarios or ["complete-outage"]:
        shares = [run_once(scenario, window) for _ in range(runs)]
        median = statistics.median(shares)
        print(
            f"{scenario}: harness CPU over the measured part, median {median:.1f} % of one core "
            f"over {runs} run(s) (range {min(shares):.1f}-{max(shares):.1f} %; budget: under 10 %)",
            flush=True,
        )


def run_once(scenario: str, window: MeasuredWindow) -> float:
    """One drill, its figures printed; returns the harness's share of one core (measured part)."""
    me = psutil.Process()
    out = Path(tempfile.mkdtemp(prefix=f"drills-bench-{scenario}-"))
    cpu0, wall0 = me.cpu_times(), time.monotonic()
    outcome = Runner(Settings.from_environ()).run(RunRequest(scenario, out=out))
    cpu1, wall1 = me.cpu_times(), time.monotonic()
    assert outcome.conclusion is not None, outcome.message
    result = outcome.conclusion.result
    m = result.measurements
    measured = result.ended_at - result.started_at
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    acked = m.writes_acknowledged or 0
    print(
        f"{scenario}: verdict {result.verdict.value}, wall {wall1 - wall0:.1f} s "
        f"(measured part {measured:.1f} s); harness CPU {cpu:.2f} s = "
        f"{100 * cpu / (wall1 - wall0):.1f} % of one core over the whole drill, "
        f"{100 * window.cpu / window.wall:.1f} % over the measured part; "
        f"canary {acked} acked ({acked / measured:.0f}/s over the measured part, "
        f"{m.writes_failed} failed); resolution {_s(m.resolution_seconds)}; "
        f"TTD {_s(m.time_to_detect_seconds)}, RTO {_s(m.rto_seconds)}, "
        f"RPO {_s(m.rpo_seconds)}, {m.writes_lost} of {acked} acknowledged writes lost",
        flush=True,
    )
    shares = ", ".join(
        f"{name} {100 * cpu / window.wall:.1f} %"
        for name, cpu in window.by_thread.most_common()
        if cpu >= 0.005
    )
    print(f"  by thread, over the measured part (% of one core): {shares}", flush=True)
    return 100 * window.cpu / window.wall


def _s(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.3f} s"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="drills per scenario (default 3)")
    parser.add_argument("scenarios", nargs="*", help="default: complete-outage")
    args = parser.parse_args(sys.argv[1:])
    main(args.scenarios, max(1, args.runs))
