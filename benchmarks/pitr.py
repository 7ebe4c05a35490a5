"""Point-in-time restore time against PostgreSQL's own floor for the same restore (budget 1.2x).

The floor is the restore done by PostgreSQL alone, with no harness around it: `cp -a` of the same
base backup into a scratch directory, `recovery.signal` with the same archive and the same
`recovery_target_time`, and `pg_ctl start -w` (hot standby off, so it returns once replay has
reached the target and the server was promoted). The harness's restore does that plus what a
real one needs: stop the standby and the primary, set the old data aside, pause at the target,
promote, check. The ratio is what the harness adds; the floor is physics (copy + WAL replay).

Each run loads a database with pgbench, takes a base backup, keeps writing, picks a target time in
the middle of the writes, flushes the WAL archive (both restores read the same, complete archive:
nothing races the archiver), measures the floor, then restores the sandbox's primary to the same
target with the drills' own code path. Printed for each data size, with the spread over runs.

    .venv/bin/python -m benchmarks.pitr [--scales 2,10] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
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
from drills.targets.sandbox.pgcluster import (
    archive_restore_command,
    flush_archive,
    quote,
    run_tool,
)
from drills.targets.sandbox.pitr import newest_before, restore_copy
from drills.targets.sandbox.processes import postgres_identity
from drills.targets.sandbox.recovery import restore_point_in_time
from drills.targets.sandbox.stack import Sandbox
from drills.targets.sandbox.state import free_port

BUDGET_RATIO = 1.2


def pgbench(box: Sandbox, *args: str) -> None:
    """pgbench against the sandbox's primary, with the sandbox's password (scram since issue 9)."""
    port = box.port(Component.POSTGRES)
    argv = [str(pg.bin_dir() / "pgbench"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
    env = {**os.environ, "PGPASSWORD": box.state().credentials.postgres_password}
    subprocess.run([*argv, *args, pg.DATABASE], check=True, capture_output=True, env=env)


def floor_seconds(box: Sandbox, target: datetime) -> float:
    """PostgreSQL's own restore of the same base backup to the same target, in a scratch dir."""
    run_as = postgres_identity()
    backup = newest_before(box.layout, target)
    scratch = box.layout.postgres_root / "floor"
    log = box.layout.postgres_root / "floor.log"
    settings = {
        "port": str(free_port()),
        "archive_mode": "off",
        "hot_standby": "off",
        "restore_command": archive_restore_command(box.layout.wal_archive),
        "recovery_target_time": quote(target.isoformat(sep=" ")),
        "recovery_target_action": quote("promote"),
    }
    pg_ctl = str(pg.bin_dir() / "pg_ctl")
    started = time.monotonic()
    restore_copy(backup, scratch, settings, run_as)
    run_tool(run_as, [pg_ctl, "-D", str(scratch), "-l", str(log), "-w", "-t", "300", "start"])
    elapsed = time.monotonic() - started
    run_tool(run_as, [pg_ctl, "-D", str(scratch), "-m", "immediate", "stop"])
    shutil.rmtree(scratch)
    log.unlink(missing_ok=True)
    return elapsed


def warm(box: Sandbox, target: datetime) -> None:
    """Read the base backup and the WAL archive once, so neither restore pays a cold cache."""
    for root in (newest_before(box.layout, target).path, box.layout.wal_archive):
        for path in Path(root).rglob("*"):
            if path.is_file():
                with path.open("rb") as f:
                    while f.read(1 << 20):
                        pass


def du_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def one_run(box: Sandbox, write_seconds: float) -> tuple[float, float, dict[str, object]]:
    """(harness PITR seconds, PostgreSQL's floor seconds, restore details)."""
    port = box.port(Component.POSTGRES)
    box.take_base_backup()
    pgbench(box, "-n", "-c", "2", "-T", str(max(1, round(write_seconds / 2))))
    target = datetime.now(UTC)
    pgbench(box, "-n", "-c", "2", "-T", str(max(1, round(write_seconds / 2))))
    flush_archive(port)
    warm(box, target)  # both restores read the same files from the page cache, not one cold
    floor = floor_seconds(box, target)
    details = restore_point_in_time(box, target)
    fail_back(box)
    return float(str(details["restore_seconds"])), floor, details


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f}, min {min(values):.2f}, max {max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scales", default="2,10", help="pgbench scales, comma-separated (about 16 MB each)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write-seconds", type=float, default=2.0)
    args = parser.parse_args()
    state_dir = Path(tempfile.mkdtemp(prefix="drills-bench-pitr-"))
    state_dir.chmod(0o711)
    box = Sandbox(state_dir)
    medians: list[float] = []
    try:
        box.up()
        for scale in (int(s) for s in args.scales.split(",")):
            pgbench(box, "-i", "-q", "-s", str(scale))
            size = du_mib(box.layout.primary_data)
            print(f"pgbench scale {scale}: data directory {size:.0f} MiB", flush=True)
            ratios: list[float] = []
            for run in range(args.runs):
                restore, floor, details = one_run(box, args.write_seconds)
                ratios.append(restore / floor)
                print(
                    f"  run {run + 1}: harness PITR {restore:.2f} s (copy"
                    f" {details['copy_seconds']:.2f} s + recovery"
                    f" {details['recovery_seconds']:.2f} s) vs PostgreSQL's floor {floor:.2f} s"
                    f" -> {restore / floor:.2f}x",
                    flush=True,
                )
            medians.append(statistics.median(ratios))
            print(f"  ratio {spread(ratios)}", flush=True)
        worst = max(medians)
        verdict = "within" if worst <= BUDGET_RATIO else "OVER"
        print(
            f"worst median {worst:.2f}x PostgreSQL's floor: {verdict} the {BUDGET_RATIO:g}x budget"
        )
    finally:
        box.down(purge=True)


if __name__ == "__main__":
    main()
