"""Wall time of `drills run monitoring-alerts` on a fresh sandbox, time compressed, and each alert's
time to fire and to be notified against its bound.

    .venv/bin/python -m benchmarks.monitoring_drill [--runs N] [--time-scale 0.05]

Budget (issue 15): under 90 s a run with the time scale, sandbox start-up included. The drill is
run as a user runs it (`python -m drills run ... --var alert_time_scale=S`), in its own process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from drills.monitoring.conditions import Condition
from drills.targets.sandbox.monitoring import missing_packages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--time-scale", type=float, default=0.05)
    args = parser.parse_args()
    reason = missing_packages()
    if reason:
        sys.exit(f"skipped: {reason}")
    walls: list[float] = []
    for run in range(args.runs):
        out = Path(tempfile.mkdtemp(prefix="drills-bench-alerts-")) / "run"
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "drills",
                "run",
                "monitoring-alerts",
                "--var",
                f"alert_time_scale={args.time_scale}",
                "--out",
                str(out),
                "--json",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.monotonic() - started
        walls.append(wall)
        report = json.loads((out / "report.json").read_text())
        m = report["measurements"]
        print(
            f"run {run + 1}: {wall:.1f} s wall, verdict {report['verdict']} (exit {done.returncode})"
        )
        for condition in Condition:
            key = condition.value.replace("-", "_")
            print(
                f"  {condition.value:<30} fired {m.get(f'alert_{key}_firing_seconds')} s, "
                f"notified {m.get(f'alert_{key}_notified_seconds')} s "
                f"(bound {m.get(f'alert_{key}_bound_seconds')} s), "
                f"resolved {m.get(f'alert_{key}_resolved_seconds')} s after recovery"
            )
    print(
        f"monitoring-alerts at time scale {args.time_scale}: median wall "
        f"{statistics.median(walls):.1f} s over {len(walls)} run(s) (budget 90 s)"
    )


if __name__ == "__main__":
    main()
