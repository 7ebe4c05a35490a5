"""`python -m drills.targets.sandbox.snapshot_schedule STATE_DIR`: the graph store's scheduled backups.

The runbook's backups run on a schedule, not only when someone asks. This process runs beside the
sandbox's graph server (it is recorded as one of the `neo4j` component's processes, so it is
killed, restarted and stopped with it): every `--every` seconds it takes a snapshot into the bucket
exactly as an on-demand backup does (`Sandbox.graph_snapshot`) and prunes the bucket to the newest
`--keep`. A failed snapshot (the server is down during a drill) is logged and retried next time.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from drills.errors import DrillError
from drills.targets.sandbox.graphdb import KEEP_SNAPSHOTS, SNAPSHOT_EVERY_SECONDS


def prune(bucket: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` snapshots in `bucket`; returns what was deleted."""
    snapshots = sorted(bucket.glob("*.rdb"))
    gone = snapshots[: max(0, len(snapshots) - keep)]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def run(state_dir: Path, every_seconds: float, keep: int, stop: threading.Event) -> None:
    """Snapshot every `every_seconds` until `stop` is set."""
    from drills.targets.sandbox.stack import Sandbox

    box = Sandbox(state_dir)
    while not stop.wait(every_seconds):
        try:
            path = box.graph_snapshot()
            pruned = prune(path.parent, keep)
        except (DrillError, OSError) as exc:
            print(f"{datetime.now(UTC).isoformat()} snapshot failed: {exc}", flush=True)
            continue
        print(f"{datetime.now(UTC).isoformat()} {path.name} (pruned {len(pruned)})", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drills.targets.sandbox.snapshot_schedule")
    parser.add_argument("state_dir", type=Path)
    parser.add_argument("--every", type=float, default=SNAPSHOT_EVERY_SECONDS)
    parser.add_argument("--keep", type=int, default=KEEP_SNAPSHOTS)
    args = parser.parse_args(argv)
    if not (args.every > 0 and args.keep >= 1):
        parser.error("--every must be positive and --keep at least 1")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run(args.state_dir, args.every, args.keep, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
