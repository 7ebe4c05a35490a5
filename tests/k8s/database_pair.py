"""A real PostgreSQL primary with a real streaming standby, for the drills whose steady state is
read with SQL (database-failover, cross-region-failover: "the standby region streams").

The emulated cluster's database pods are paper; what `database.conninfo` reaches must be a real
server, because the drill's probes ask it real questions (`pg_stat_replication`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import psycopg

from tests.service.stack import PG_USER, Postgres, _as_pg_user, _ensure_pg_user, wait_until


class Standby(Postgres):
    """A hot standby cloned from `primary` with `pg_basebackup -R` (streaming, no slot)."""

    def clone(self, primary: Postgres) -> None:
        _ensure_pg_user()
        parent = self.datadir.parent
        parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(parent, PG_USER, PG_USER)
        source = ["-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"]
        source += ["-X", "stream", "-R", "-c", "fast"]
        subprocess.run(
            _as_pg_user([str(self.bin / "pg_basebackup"), "-D", str(self.datadir), *source]),
            check=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,  # never wait for a password prompt
            env={**os.environ, "PGPASSWORD": primary.password},  # scram, as in the sandboxes
            timeout=120,
        )
        self.password = primary.password  # a clone: the same roles, the same password
        self.start()


def streaming(primary: Postgres) -> bool:
    with psycopg.connect(primary.conninfo("postgres")) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
        ).fetchone()
    return bool(row and row[0])


def start_pair(root: Path) -> tuple[Postgres, Standby]:
    primary = Postgres(root / "primary")
    (root / "primary").mkdir(parents=True)
    primary.init()
    standby = Standby(root / "standby")
    try:
        # No background writer of its own: autovacuum's ANALYZE takes transaction ids, and a
        # test proves "no SQL write" by the next transaction id not moving.
        with psycopg.connect(primary.conninfo("postgres"), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET autovacuum = off")
            conn.execute("SELECT pg_reload_conf()")
        standby.clone(primary)
        wait_until(lambda: streaming(primary), 30, "the standby to stream")
    except BaseException:
        standby.stop()
        primary.stop()
        raise
    return primary, standby
