"""The graph store (neo4j, FalkorDB in the sandbox): restore time by size, and the harness CPU it adds.

    .venv/bin/python -m benchmarks.graph_store [NODES ...]    (default: 10000 100000)

On one fresh sandbox, prints:
- per graph size: the snapshot's size, the time to take it (BGSAVE + copy into the bucket) and
  the runbook's restore-neo4j (`restore_snapshot(neo4j, id)`: server stopped, snapshot made the
  base of a fresh AOF, server started and loaded), with the nodes counted back after it;
- the harness's own CPU over a 10 s measurement session (sampler at 10 Hz, canary at 100/s, the
  per-store read-back at its end) with the graph store's signal and read-back, and without them:
  the difference is what the graph store costs the harness (budget: the whole harness under 10 %
  of one core). `benchmarks.drill_overhead` prints the same share over whole drills.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from drills.clock import RunClock
from drills.session import MeasurementSession
from drills.targets.base import Component, SignalKind, SignalSpec
from drills.targets.sandbox.driver import SandboxTarget
from tests.conftest import running_sandbox

SESSION_SECONDS = 10.0
BATCH = 5000


class WithoutGraph:
    """The same sandbox target with the graph store's signal left out (and so its read-back)."""

    def __init__(self, target: SandboxTarget) -> None:
        self._target = target
        self.name, self.kind = target.name, target.kind
        self.control_plane_url = target.control_plane_url

    def signals(self) -> Sequence[SignalSpec]:
        return [s for s in self._target.signals() if s.kind is not SignalKind.GRAPH]


def fill(target: SandboxTarget, nodes: int) -> None:
    """`nodes` canary-shaped nodes in the service's graph, written in batches (UNWIND)."""
    query = (
        "UNWIND range($first, $last) AS i CREATE (:CanaryRecord {stream: 'bench', seq: i,"
        " sent_at: '2026-01-01T00:00:00+00:00', payload: 'p' + toString(i), checksum: 'c'})"
    )
    for first in range(0, nodes, BATCH):
        last = min(nodes, first + BATCH) - 1
        target.graph_query(query, {"first": first, "last": last}, mutating=True)


def restore_times(target: SandboxTarget, sizes: list[int]) -> None:
    written = 0
    for nodes in sizes:
        target.graph_query("MATCH (r:CanaryRecord {stream: 'bench'}) DELETE r", {}, mutating=True)
        fill(target, nodes)
        written = nodes
        started = time.monotonic()
        backup = target.take_backup(Component.NEO4J)
        took = time.monotonic() - started
        restored = target.restore_snapshot(Component.NEO4J, backup.backup_id)
        count = target.graph_query("MATCH (r:CanaryRecord {stream: 'bench'}) RETURN count(r)", {})
        print(
            f"graph of {nodes} nodes: snapshot {(backup.size_bytes or 0) / 1e6:.1f} MB taken in "
            f"{took:.3f} s; restore-neo4j {restored.details['restore_seconds']:.3f} s "
            f"(nodes back: {count[0][0]} of {written})",
            flush=True,
        )
    target.graph_query("MATCH (r:CanaryRecord {stream: 'bench'}) DELETE r", {}, mutating=True)


def session_cpu(target: object, label: str, run_dir: Path) -> float:
    me = psutil.Process()
    run_dir.mkdir(parents=True)
    session = MeasurementSession(target, run_dir, label, clock=RunClock())  # type: ignore[arg-type]
    before = me.cpu_times()
    started = time.monotonic()
    session.start()
    time.sleep(SESSION_SECONDS)
    data = session.stop()
    wall = time.monotonic() - started
    after = me.cpu_times()
    cpu = (after.user - before.user) + (after.system - before.system)
    share = 100 * cpu / wall
    canary = data.canary
    stores = ["postgres", *(s.store for s in canary.stores)] if canary else []
    print(
        f"{label}: harness CPU {cpu:.2f} s over {wall:.1f} s = {share:.1f} % of one core "
        f"({len(data.samples)} samples, {len(canary.acked) if canary else 0} canary writes, "
        f"read back from {', '.join(stores)})",
        flush=True,
    )
    return share


def main(sizes: list[int]) -> None:
    with running_sandbox("drills-bench-graph-") as target:
        restore_times(target, sizes or [10_000, 100_000])
        time.sleep(3.0)  # the restored graph's breakers close again
        scratch = Path(tempfile.mkdtemp(prefix="drills-bench-graph-session-"))
        without = session_cpu(WithoutGraph(target), "without-graph", scratch / "a")
        with_graph = session_cpu(target, "with-graph", scratch / "b")
        print(f"the graph store adds {with_graph - without:+.1f} points of one core to the harness")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]])
