"""Cold `drills sandbox up` time and the memory of the whole running stack.

    python3 dev.py drills ... is not needed: run `.venv/bin/python -m benchmarks.sandbox_up [--runs N]`

Budget (issue 2): cold up under 20 s on 2 cores. Memory is the sum of the resident set (RSS) and of
the proportional set size (PSS, shared pages split fairly) of every process of the stack.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import psutil

from drills.targets.sandbox.stack import Sandbox


def stack_memory(box: Sandbox) -> tuple[int, int, int]:
    procs: list[psutil.Process] = []
    state = box.state()
    for comp in state.components.values():
        for ref in comp.processes:
            proc = ref.process()
            if proc is not None:
                procs.extend([proc, *proc.children(recursive=True)])
    rss = pss = 0
    for proc in procs:
        try:
            info = proc.memory_full_info()
        except psutil.Error:
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return len(procs), rss, pss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times: list[float] = []
    for run in range(args.runs):
        state_dir = Path(tempfile.mkdtemp(prefix="drills-bench-up-"))
        state_dir.chmod(0o711)
        box = Sandbox(state_dir)
        started = time.monotonic()
        box.up()
        elapsed = time.monotonic() - started
        times.append(elapsed)
        time.sleep(2.0)  # let the replicas finish importing and settle
        count, rss, pss = stack_memory(box)
        print(
            f"run {run + 1}: cold up {elapsed:.2f} s; {count} processes, "
            f"RSS {rss / 2**20:.0f} MiB, PSS {pss / 2**20:.0f} MiB"
        )
        box.down(purge=True)
    print(f"cold up: median {statistics.median(times):.2f} s, max {max(times):.2f} s (budget 20 s)")


if __name__ == "__main__":
    main()
