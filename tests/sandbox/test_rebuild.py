"""Destroying the whole sandbox and rebuilding it from the backup bucket, for real.

Destructive, so the test runs a sandbox of its own. Rows committed after the newest base backup
and archived must come back (the WAL archive is replayed to its end), Redis comes back from its
snapshot, the standby streams again - and on a healthy sandbox the rebuild does nothing at all.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from drills.errors import TargetError
from drills.targets.base import Component
from drills.targets.sandbox import rebuild
from drills.targets.sandbox.driver import SandboxTarget
from drills.targets.sandbox.pgcluster import Role, flush_archive, role_of, streams_from
from drills.targets.sandbox.postgres import conninfo
from tests.conftest import running_sandbox

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def target() -> Iterator[SandboxTarget]:
    with running_sandbox("drills-test-rebuild-") as sandbox_target:
        yield sandbox_target


def insert(port: int, values: range) -> None:
    with psycopg.connect(conninfo(port), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS rebuild_probe (n int PRIMARY KEY)")
        for n in values:
            conn.execute("INSERT INTO rebuild_probe VALUES (%s)", (n,))


def test_destroy_then_rebuild_from_the_bucket(target: SandboxTarget) -> None:
    box = target.sandbox
    ports = box.state().ports
    primary, standby = ports[Component.POSTGRES], ports[Component.POSTGRES_STANDBY]

    # healthy: nothing to rebuild, nothing touched
    assert rebuild.rebuild(box)["rebuilt"] == []
    assert role_of(primary) is Role.PRIMARY and streams_from(standby, primary)

    insert(primary, range(0, 50))
    target.take_backup(Component.POSTGRES)
    insert(primary, range(50, 120))  # only in the WAL archive, after the base backup
    flush_archive(primary)
    with box.redis_server(box.state()).client() as client:
        client.set("rebuild-probe", "kept")
    target.take_backup(Component.REDIS)
    target.graph_query("CREATE (:RebuildProbe {n: 1})", {}, mutating=True)
    target.take_backup(Component.NEO4J)
    backups_before = sorted(p.name for p in box.layout.bucket.rglob("*"))

    destroyed = target.destroy_infrastructure()
    # every server of the service; monitoring (when installed) stays up to watch the rebuild
    assert set(destroyed["killed"]) == {c.value for c in Component} - {Component.MONITORING.value}
    assert all(destroyed["killed"].values())
    layout = box.layout
    assert not layout.primary_data.exists()
    assert not layout.standby_data.exists()
    assert not layout.redis_data.exists()
    assert not layout.graph_data.exists()
    states = target.status()["components"]
    assert all(c["state"] == "stopped" for n, c in states.items() if n != Component.MONITORING)
    # off-site kept (the graph's backup schedule may have added one before the destroy)
    assert set(backups_before) <= {p.name for p in layout.bucket.rglob("*")}

    done = target.rebuild_infrastructure()
    assert done["rebuilt"] == ["postgres", "postgres-standby", "redis", "neo4j"]
    assert done["graph_restore_seconds"] > 0
    assert 0 < done["postgres_rebuild_seconds"] < done["rebuild_seconds"]
    assert done["timeline"] >= 2  # promoted at the end of the archive: a new timeline
    assert role_of(primary) is Role.PRIMARY
    assert streams_from(standby, primary)
    with psycopg.connect(conninfo(primary)) as conn:
        row = conn.execute("SELECT count(*), min(n), max(n) FROM rebuild_probe").fetchone()
    assert row == (120, 0, 119)
    with box.redis_server(box.state()).client() as client:
        assert client.get("rebuild-probe") == b"kept"
    assert target.graph_query("MATCH (p:RebuildProbe) RETURN count(p)", {}) == [(1,)]

    # the stateless control plane starts on the rebuilt databases; everything runs again
    target.restart(Component.CONTROL_PLANE)
    assert target.status()["running"]
    # and a rebuild refuses nothing but also changes nothing now
    assert rebuild.rebuild(box)["rebuilt"] == []


def test_rebuild_without_a_base_backup_fails_clearly(target: SandboxTarget) -> None:
    box = target.sandbox
    target.take_backup(Component.REDIS)
    target.destroy_infrastructure()
    aside = box.layout.bucket.with_name("bucket.aside")
    box.layout.base_backups.rename(aside)
    try:
        with pytest.raises(TargetError, match="no finished base backup"):
            target.rebuild_infrastructure()
    finally:
        box.layout.base_backups.parent.mkdir(parents=True, exist_ok=True)
        if box.layout.base_backups.exists():
            box.layout.base_backups.rmdir()
        aside.rename(box.layout.base_backups)
    # the backups are back: the same rebuild now succeeds
    rebuilt = target.rebuild_infrastructure()["rebuilt"]
    assert rebuilt == ["postgres", "postgres-standby", "redis", "neo4j"]
