"""The sandbox's recovery operations for real: failover and fail-back, PITR, snapshot restore,
backup verification, the scratch restore test and the integrity facts they rely on.

Destructive, so they share one private sandbox (not the session's); each test leaves it as it
found it - primary on its port, standby streaming from it - and says so with an assertion.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from drills.canary import checksum
from drills.errors import ComponentError, TargetError
from drills.integrity import last_good_time, table_facts
from drills.targets.base import Component
from drills.targets.sandbox import failover
from drills.targets.sandbox.driver import SandboxTarget
from drills.targets.sandbox.pgcluster import Role, role_of, streams_from
from drills.targets.sandbox.postgres import DATABASE, conninfo
from tests.conftest import running_sandbox

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def target() -> Iterator[SandboxTarget]:
    """A sandbox of its own: these tests fail over, restore and rebuild it."""
    with running_sandbox("drills-test-recovery-") as sandbox_target:
        yield sandbox_target


def ports(target: SandboxTarget) -> tuple[int, int]:
    state = target.sandbox.state()
    return state.ports[Component.POSTGRES], state.ports[Component.POSTGRES_STANDBY]


def assert_as_it_began(target: SandboxTarget) -> None:
    primary, standby = ports(target)
    assert role_of(primary) is Role.PRIMARY
    assert streams_from(standby, primary)
    assert all(c["state"] == "running" for c in target.status()["components"].values())


def write(url: str, stream: str, seqs: range) -> list[int]:
    """Canary-shaped records through the service; returns the seqs it acknowledged."""
    acked = []
    with httpx.Client(timeout=5.0) as client:
        for seq in seqs:
            body = {
                "stream": stream,
                "seq": seq,
                "sent_at": "2026-01-01T00:00:00Z",
                "payload": f"p{seq}",
                "checksum": checksum(stream, seq, f"p{seq}"),
            }
            if client.post(f"{url}/api/records", json=body).status_code == 201:
                acked.append(seq)
    return acked


def stored(port: int, stream: str) -> set[int]:
    with psycopg.connect(conninfo(port)) as conn:
        rows = conn.execute("SELECT seq FROM canary_records WHERE stream = %s", (stream,))
        return {int(r[0]) for r in rows.fetchall()}


def wait_writable_through_service(url: str, stream: str, seq: int) -> None:
    deadline = time.monotonic() + 20.0
    while time.monotonic() < deadline:
        if write(url, stream, range(seq, seq + 1)):
            return
        time.sleep(0.1)
    raise AssertionError("the service never reached the promoted standby")


def test_failover_then_fail_back_ends_as_it_began_without_losing_a_write(
    target: SandboxTarget,
) -> None:
    url, stream = target.control_plane_url, f"fo-{uuid.uuid4().hex[:8]}"
    primary, standby = ports(target)
    before = write(url, stream, range(0, 20))
    target.kill(Component.POSTGRES)
    target.promote_standby()
    assert role_of(standby) is Role.PRIMARY
    # the old primary must not come back beside the promoted one
    with pytest.raises(ComponentError, match="second primary"):
        target.restart(Component.POSTGRES)
    wait_writable_through_service(url, stream, 100)
    during = write(url, stream, range(101, 140))
    assert len(during) == 39

    target.rebuild_standby()  # fail back
    assert_as_it_began(target)
    after = write(url, stream, range(200, 220))
    assert stored(primary, stream) >= {*before, 100, *during, *after}
    # idempotent: a healthy pair is left alone
    assert failover.fail_back(target.sandbox)["steps"] == []
    # the promoted standby (and the primary promoted back) archived their timelines' WAL into
    # the bucket, so point-in-time recovery keeps working after a failover
    assert_archives_its_timeline(target)


def assert_archives_its_timeline(target: SandboxTarget) -> None:
    archive = target.sandbox.layout.wal_archive
    primary, _ = ports(target)
    with psycopg.connect(conninfo(primary), autocommit=True) as conn:
        row = conn.execute("SELECT pg_walfile_name(pg_switch_wal() - 1)").fetchone()
    assert row is not None
    segment = str(row[0])
    timeline = int(segment[:8], 16)
    assert timeline >= 3  # promoted twice: the failover and the switchover back
    for promoted in range(2, timeline + 1):
        assert (archive / f"{promoted:08X}.history").exists()
    deadline = time.monotonic() + 15.0
    while not (archive / segment).exists():
        assert time.monotonic() < deadline, f"{segment} never reached the bucket"
        time.sleep(0.05)


def commit_concurrently(port: int, table: str, seconds: float) -> None:
    stop = threading.Event()

    def writer(k: int) -> None:
        with psycopg.connect(conninfo(port), autocommit=True) as conn:
            i = 0
            while not stop.is_set():
                conn.execute(f"INSERT INTO {table} VALUES (%s, %s)", (k, i))
                i += 1

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()


def test_pitr_keeps_exactly_the_rows_committed_up_to_the_target(target: SandboxTarget) -> None:
    primary, standby = ports(target)
    table = f"items_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(conninfo(primary), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (k int, i int)")
    target.take_backup(Component.POSTGRES)
    commit_concurrently(primary, table, 0.7)
    moment = datetime.now(UTC)
    commit_concurrently(primary, table, 0.7)
    query = f"SELECT k, i, pg_xact_commit_timestamp(xmin) FROM {table}"
    with psycopg.connect(conninfo(primary), autocommit=True) as conn:
        rows: list[tuple[Any, ...]] = conn.execute(query).fetchall()
    expected = {(k, i) for k, i, committed in rows if committed <= moment}
    assert 0 < len(expected) < len(rows)

    backup = target.restore_point_in_time(moment)

    with psycopg.connect(conninfo(primary), autocommit=True) as conn:
        kept = {(k, i) for k, i in conn.execute(f"SELECT k, i FROM {table}").fetchall()}
    assert kept == expected
    assert backup.details["restore_seconds"] > 0
    assert role_of(standby) is Role.DOWN  # it replayed what the restore undid
    target.rebuild_standby()
    assert_as_it_began(target)


def test_a_failed_pitr_puts_the_primary_back_as_it_was(target: SandboxTarget) -> None:
    url, stream = target.control_plane_url, f"back-{uuid.uuid4().hex[:8]}"
    acked = write(url, stream, range(10))
    later = datetime.now(UTC) + timedelta(hours=1)  # beyond the end of the WAL archive
    with pytest.raises(TargetError, match="put back"):
        target.restore_point_in_time(later)
    primary, _ = ports(target)
    assert role_of(primary) is Role.PRIMARY
    assert stored(primary, stream) == set(acked)
    target.rebuild_standby()
    assert_as_it_began(target)


def test_redis_snapshot_restore_brings_back_exactly_the_snapshot(target: SandboxTarget) -> None:
    state = target.sandbox.state()
    client = target.sandbox.redis_server(state).client()
    client.set("drills:test:before", "1")
    snapshot = target.take_backup(Component.REDIS)
    client.set("drills:test:after", "1")
    client.delete("drills:test:before")
    restored = target.restore_snapshot(Component.REDIS)
    assert restored.backup_id == snapshot.backup_id
    client = target.sandbox.redis_server(target.sandbox.state()).client()
    assert client.get("drills:test:before") == b"1"
    assert client.get("drills:test:after") is None
    assert target.status()["components"]["redis"]["state"] == "running"


def test_verify_backup_passes_an_intact_backup_and_catches_a_damaged_one(
    target: SandboxTarget,
) -> None:
    backup = target.take_backup(Component.POSTGRES)
    assert target.verify_backup(backup.backup_id)["verified"] is True
    damaged_id = (datetime.now(UTC) + timedelta(days=365)).strftime("%Y%m%dT%H%M%S%fZ")
    damaged = target.sandbox.layout.base_backups / damaged_id
    shutil.copytree(backup.path or "", damaged)
    try:
        victim = max((damaged / "base").rglob("*"), key=lambda p: p.stat().st_size)
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0xFF
        victim.write_bytes(bytes(data))
        with pytest.raises(TargetError, match="damaged"):
            target.verify_backup(damaged_id)
    finally:
        shutil.rmtree(damaged)


def test_restore_test_matches_the_source_while_the_service_keeps_writing(
    target: SandboxTarget,
) -> None:
    url, stream = target.control_plane_url, f"rt-{uuid.uuid4().hex[:8]}"
    write(url, stream, range(50))
    stop = threading.Event()
    acked: list[int] = []

    def keep_writing() -> None:
        seq = 1000
        while not stop.is_set():
            acked.extend(write(url, stream, range(seq, seq + 1)))
            seq += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        result = target.test_restore()
    finally:
        stop.set()
        writer.join()
    assert result["verified"], result["mismatches"]
    canary = result["tables"]["canary_records"]
    assert canary["restored"] == canary["source"]
    assert canary["source"]["rows"] >= 50
    assert result["restore_seconds"] > 0
    assert acked, "the service stopped taking writes during the test restore"
    assert not any((target.sandbox.layout.root / "scratch").iterdir())


def test_integrity_facts_find_corrupt_rows_and_date_the_corruption(
    target: SandboxTarget,
) -> None:
    url, stream = target.control_plane_url, f"ic-{uuid.uuid4().hex[:8]}"
    primary, _ = ports(target)
    assert len(write(url, stream, range(10))) == 10
    with psycopg.connect(conninfo(primary, DATABASE), autocommit=True) as conn:
        before = table_facts(conn)["canary_records"]
        assert before.corrupt == 0  # every test here writes valid checksums
        updated = conn.execute(
            "UPDATE canary_records SET payload = 'bad' WHERE stream = %s AND seq < 3", (stream,)
        )
        assert updated.rowcount == 3
        committed = conn.execute(
            "SELECT pg_xact_commit_timestamp(xmin) FROM canary_records"
            " WHERE stream = %s AND seq = 0",
            (stream,),
        ).fetchone()
        after = table_facts(conn)["canary_records"]
        good = last_good_time(conn)
        conn.execute("DELETE FROM canary_records WHERE payload = 'bad'")
    assert after.rows == before.rows
    assert after.corrupt == 3
    assert after.digest != before.digest
    assert committed is not None
    assert good == committed[0] - timedelta(microseconds=1)
