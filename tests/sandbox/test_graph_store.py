"""The sandbox's graph store (`neo4j`, FalkorDB standing in for Neo4j) for real: every record the
service acknowledges is a node; kill -9 and restart keep every one; its breaker opens while it is
down and the runbook's reset endpoint closes it; backups are taken (on demand and on a schedule)
and restored, the graph then exactly as the backup held it.

Destructive, so the tests share one private sandbox and leave it running as they found it.
"""

from __future__ import annotations

import signal
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from drills.canary import read_back
from drills.controlplane.connection import Endpoint
from drills.errors import ServiceError, TargetError
from drills.targets.base import Component
from drills.targets.sandbox.driver import SandboxTarget
from drills.targets.sandbox.graphdb import graph_server
from drills.targets.sandbox.processes import Supervisor
from drills.targets.sandbox.snapshot_schedule import prune
from drills.targets.sandbox.state import free_port
from tests.conftest import running_sandbox
from tests.sandbox.test_recovery import write

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def target() -> Iterator[SandboxTarget]:
    with running_sandbox("drills-test-graph-") as sandbox_target:
        yield sandbox_target


def in_graph(target: SandboxTarget, stream: str, seconds: float = 20.0) -> set[int]:
    """The stream's seqs in the graph store. Just after a restart FalkorDB may still be building
    its index in the background and a read times out (503): read again, as the drill's read-back
    only comes after its observation period."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return set(read_back(Endpoint.of(target), stream, store="neo4j"))
        except ServiceError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def breaker(target: SandboxTarget, name: str = "neo4j") -> set[str]:
    """The breaker's state on every replica that answers a few fresh connections."""
    states = set()
    for _ in range(6):
        with httpx.Client(timeout=2.0) as client:
            answer = client.get(f"{target.control_plane_url}/api/resilience/circuit-breakers")
        body = answer.json()
        assert name in body, f"HTTP {answer.status_code}: {body}"  # what answered instead
        states.add(body[name]["state"])
    return states


def wait_for(predicate: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def test_every_acknowledged_record_is_a_node_and_survives_kill_9(target: SandboxTarget) -> None:
    stream = f"graph-{uuid.uuid4().hex[:8]}"
    acked = write(target.control_plane_url, stream, range(200))
    assert 0 in acked and len(acked) > 150, acked  # a write may time out on a busy machine
    assert set(acked) <= in_graph(target, stream) <= set(range(200))  # seq 0 included
    killed = target.kill(Component.NEO4J)
    assert len(killed) == 2  # the server and its backup schedule
    assert target.status()["components"]["neo4j"]["state"] == "stopped"
    target.restart(Component.NEO4J)
    assert target.status()["components"]["neo4j"]["state"] == "running"
    wait_for(lambda: write(target.control_plane_url, stream, range(200, 201)), 20, "writes")
    # every acknowledged node came back, and MERGE still finds seq 0 after the reload
    before = in_graph(target, stream)
    assert set(acked) | {200} <= before <= set(range(201))
    # a duplicate, not a new node (acknowledged once the reloaded store answers writes in time)
    wait_for(lambda: write(target.control_plane_url, stream, range(1)) == [0], 20, "seq 0 again")
    assert in_graph(target, stream) == before  # the duplicate made no new node


def test_the_neo4j_breaker_opens_while_it_is_down_and_the_reset_endpoint_closes_it(
    target: SandboxTarget,
) -> None:
    url = target.control_plane_url
    target.kill(Component.NEO4J)
    try:
        wait_for(lambda: breaker(target) == {"open"}, 15, "the neo4j breaker to open everywhere")
        with httpx.Client(timeout=2.0) as client:
            health = client.get(f"{url}/api/resilience/health")
            databases = client.get(f"{url}/api/monitoring/databases")
            metrics = client.get(f"{url}/metrics").text
        assert health.status_code == 503 and "neo4j" in health.json()["open_breakers"]
        assert databases.status_code == 503 and databases.json()["neo4j"]["status"] == "down"
        assert 'maestro_circuit_breaker_state{breaker="neo4j",replica=' in metrics
        assert any(
            line.startswith('maestro_circuit_breaker_state{breaker="neo4j"')
            and line.endswith(" 2.0")
            for line in metrics.splitlines()
        )
        refused = write(url, f"refused-{uuid.uuid4().hex[:6]}", range(1))
        assert refused == []  # a record the graph cannot take is never acknowledged
    finally:
        target.restart(Component.NEO4J)
    with httpx.Client(timeout=2.0) as client:
        reset = client.post(f"{url}/api/resilience/circuit-breakers/neo4j/reset")
    assert reset.status_code == 200 and reset.json()["state"] == "closed"
    wait_for(lambda: breaker(target) == {"closed"}, 20, "every neo4j breaker closed")
    with httpx.Client(timeout=2.0) as client:
        assert client.get(f"{url}/api/monitoring/databases").json()["neo4j"]["status"] == "up"


def test_a_backup_restores_exactly_the_graph_it_holds(target: SandboxTarget) -> None:
    stream = f"backup-{uuid.uuid4().hex[:8]}"
    wait_for(lambda: breaker(target) == {"closed"}, 20, "every neo4j breaker closed")
    before = write(target.control_plane_url, stream, range(50))
    assert before  # on a busy machine a write may time out: it is then not acknowledged
    backup = target.take_backup(Component.NEO4J)
    assert backup.backup_id.startswith("neo4j-") and (backup.size_bytes or 0) > 0
    assert backup.backup_id in [b.backup_id for b in target.list_backups(Component.NEO4J)]
    write(target.control_plane_url, stream, range(50, 80))  # after the backup: lost by a restore
    restored = target.restore_snapshot(Component.NEO4J, backup.backup_id)
    assert restored.details["backup_id"] == backup.backup_id
    assert restored.details["restore_seconds"] > 0
    wait_for(lambda: breaker(target) == {"closed"}, 20, "every neo4j breaker closed")
    found = in_graph(target, stream)
    assert set(before) <= found <= set(range(50))  # all it held, nothing written after it
    assert target.status()["components"]["neo4j"]["state"] == "running"
    with pytest.raises(TargetError, match=r"no neo4j snapshot 'nope\.rdb'"):
        target.restore_snapshot(Component.NEO4J, "nope.rdb")


def test_backups_are_also_taken_on_a_schedule(target: SandboxTarget) -> None:
    # the schedule process runs beside the server; run one at a short interval to see it work
    bucket = target.sandbox.layout.graph_snapshots
    before = set(bucket.glob("*.rdb"))
    supervisor = Supervisor()
    argv = ["-m", "drills.targets.sandbox.snapshot_schedule", str(target.sandbox.layout.root)]
    ref = supervisor.spawn(
        [sys.executable, *argv, "--every", "0.5", "--keep", "200"],
        log_path=target.sandbox.layout.logs / "schedule-test.log",
    )
    try:
        wait_for(lambda: len(set(bucket.glob("*.rdb")) - before) >= 2, 30, "two scheduled backups")
    finally:
        supervisor.terminate([ref])
    assert len(target.status()["components"]["neo4j"]["pids"]) == 2  # the sandbox's own schedule


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    for stamp in ("20260101T000000000000Z", "20260102T000000000000Z", "20260103T000000000000Z"):
        (tmp_path / f"neo4j-{stamp}.rdb").write_bytes(b"x")
    gone = prune(tmp_path, 2)
    assert [p.name for p in gone] == ["neo4j-20260101T000000000000Z.rdb"]
    assert len(list(tmp_path.glob("*.rdb"))) == 2


def test_a_growing_graph_is_rewritten_so_a_restart_loads_a_snapshot_not_every_query(
    tmp_path: Path,
) -> None:
    """Replaying the AOF's queries one by one took 50 s for an hour of drills' canary nodes (0.1 s
    from a snapshot): the increment must be folded into a new base as it grows, and the graph
    must come back whole from it after kill -9."""
    server = graph_server(tmp_path / "data", free_port(), tmp_path / "graph.log", "pw")
    supervisor = Supervisor()
    ref = server.start(supervisor)
    nodes = 2500  # about 0.7 MB of queries: well past the rewrite threshold
    try:
        server.wait_ready(supervisor, ref)
        with server.client(5.0) as client:
            for i in range(nodes):
                client.execute_command(  # type: ignore[no-untyped-call]
                    "GRAPH.QUERY", "g", f"CREATE (:R {{seq: {i}, payload: '{'x' * 200}'}})"
                )

            def rewritten() -> bool:
                info = client.info("persistence")
                return bool(
                    int(info.get("aof_rewrites", 0)) >= 1 and not info["aof_rewrite_in_progress"]
                )

            wait_for(rewritten, 30, "an AOF rewrite")
        supervisor.terminate([ref], signal.SIGKILL)
        increments = list((tmp_path / "data" / "appendonlydir").glob("*.incr.aof"))
        assert sum(p.stat().st_size for p in increments) < 600_000  # folded, not all 0.7 MB
        ref = server.start(supervisor)
        server.wait_ready(supervisor, ref)
        with server.client(5.0) as client:
            reply = client.execute_command(  # type: ignore[no-untyped-call]
                "GRAPH.QUERY", "g", "MATCH (r:R) RETURN count(r)"
            )
        assert reply[1] == [[nodes]]
    finally:
        supervisor.terminate([ref])
