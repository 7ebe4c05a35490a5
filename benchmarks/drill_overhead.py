"""The harness's own CPU use during a drill, and the drill's wall time.

    .venv/bin/python -m benchmarks.drill_overhead [SCENARIO ...]

Runs each scenario (default: complete-outage) on a fresh sandbox in this process and prints:
wall time of the whole drill (budget: under 60 s), and the CPU time of the harness process alone
(sampler, canary, Chaos Toolkit, probes and actions; not the sandbox's servers, which are other
processes) as a share of one core over the measured part (budget: under 10 %), with the canary's
achieved rate and the sampler's achieved resolution.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

from drills.runner import Runner, RunRequest
from drills.session import MeasurementSession, SessionData
from drills.settings import Settings


class MeasuredWindow:
    """CPU and wall time between the session's start and stop (the measured part of a drill)."""

    def __init__(self) -> None:
        self.cpu = self.wall = 0.0
        me = psutil.Process()
        start, stop = MeasurementSession.start, MeasurementSession.stop
        window = self

        def timed_start(session: MeasurementSession) -> None:
            times = me.cpu_times()
            window.cpu, window.wall = -(times.user + times.system), -time.monotonic()
            start(session)

        def timed_stop(session: MeasurementSession, **kwargs: bool) -> SessionData:
            data = stop(session, **kwargs)
            times = me.cpu_times()
            window.cpu += times.user + times.system
            window.wall += time.monotonic()
            return data

        MeasurementSession.start = timed_start  # type: ignore[method-assign]
        MeasurementSession.stop = timed_stop  # type: ignore[method-assign]


def main(scenarios: list[str]) -> None:
    os.environ.setdefault("DRILLS_HOME", tempfile.mkdtemp(prefix="drills-bench-home-"))
    me = psutil.Process()
    window = MeasuredWindow()
    for scenario in scenarios or ["complete-outage"]:
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


def _s(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.3f} s"


if __name__ == "__main__":
    main(sys.argv[1:])
