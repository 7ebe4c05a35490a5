"""Point-in-time restore time against a plain `cp -a` of the same data directory (budget: 2x).

The yardstick is DESIGN.md's: copying the same data directory (the primary's, as a cold-copy
restore would). The copy of the base backup alone is printed too: a restore also copies that, so
against it the ratio shows what WAL replay and promotion add. Each run loads a database with
pgbench, takes a base backup, keeps writing, picks a target time in the middle of the writes, and
restores the sandbox's primary to it with the drills' own code path.

    .venv/bin/python -m benchmarks.pitr [--scale 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from drills.targets.base import Component
from drills.targets.sandbox import postgres as pg
from drills.targets.sandbox.failover import fail_back
from drills.targets.sandbox.pgcluster import run_tool
from drills.targets.sandbox.processes import postgres_identity
from drills.targets.sandbox.recovery import restore_point_in_time
from drills.targets.sandbox.stack import Sandbox

BUDGET_RATIO = 2.0


def pgbench(port: int, *args: str) -> None:
    argv = [str(pg.bin_dir() / "pgbench"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
    subprocess.run([*argv, *args, pg.DATABASE], check=True, capture_output=True)


def copy_seconds(source: Path, box: Sandbox) -> float:
    """`cp -a` of `source`, as the server's user, onto the same file system."""
    dest = box.layout.postgres_root / "copy-yardstick"
    started = time.monotonic()
    run_tool(postgres_identity(), ["cp", "-a", str(source), str(dest)])
    elapsed = time.monotonic() - started
    shutil.rmtree(dest)
    return elapsed


def du_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def one_run(box: Sandbox, write_seconds: float) -> tuple[float, float, float, dict[str, object]]:
    """(PITR seconds, cp -a of the data directory, cp -a of the base backup, restore details)."""
    port = box.port(Component.POSTGRES)
    backup = box.take_base_backup()
    pgbench(port, "-n", "-c", "2", "-T", str(max(1, round(write_seconds / 2))))
    target = datetime.now(UTC)
    pgbench(port, "-n", "-c", "2", "-T", str(max(1, round(write_seconds / 2))))
    data_dir = copy_seconds(box.layout.primary_data, box)
    base = copy_seconds(backup, box)
    details = restore_point_in_time(box, target)
    fail_back(box)
    return float(str(details["restore_seconds"])), data_dir, base, details


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10, help="pgbench scale (about 16 MB each)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write-seconds", type=float, default=2.0)
    args = parser.parse_args()
    state_dir = Path(tempfile.mkdtemp(prefix="drills-bench-pitr-"))
    state_dir.chmod(0o711)
    box = Sandbox(state_dir)
    try:
        box.up()
        pgbench(box.port(Component.POSTGRES), "-i", "-q", "-s", str(args.scale))
        print(
            f"data directory {du_mib(box.layout.primary_data):.0f} MiB (pgbench scale {args.scale})"
        )
        ratios: list[float] = []
        for run in range(args.runs):
            restore, data_dir, base, details = one_run(box, args.write_seconds)
            ratios.append(restore / data_dir)
            print(
                f"run {run + 1}: PITR {restore:.2f} s (copy {details['copy_seconds']:.2f} s +"
                f" recovery {details['recovery_seconds']:.2f} s) vs cp -a of the data directory"
                f" {data_dir:.2f} s -> {restore / data_dir:.2f}x"
                f" (cp -a of the base backup alone {base:.2f} s -> {restore / base:.2f}x)"
            )
        ratio = statistics.median(ratios)
        verdict = "within" if ratio <= BUDGET_RATIO else "OVER"
        print(
            f"median {ratio:.2f}x cp -a of the data directory: {verdict} the {BUDGET_RATIO:g}x budget"
        )
    finally:
        box.down(purge=True)


if __name__ == "__main__":
    main()
