"""Failover to the standby ("second region") and the way back, for the sandbox's PostgreSQL pair.

Failover is `pg_promote()` on the streaming standby: the service finds the new primary by itself
through its multi-host, read-write connection string. Asynchronous replication means writes the old
primary acknowledged but had not yet streamed are gone with it; the drill counts them.

Fail-back returns the sandbox to how it began - `postgres` the writable primary on its own port,
`postgres-standby` streaming from it - without losing a write: the old primary's directory is
rebuilt as a standby of the promoted server, then a controlled switchover (a clean stop of the
promoted server, whose WAL senders hand every last record to the standby before exiting, checked
against its shutdown checkpoint) promotes it back, and the standby is cloned afresh. Ports never
move, so nothing that was configured with them (the service, the fault proxy) needs to know.

Every operation asks the servers what they are (primary, standby, down) instead of trusting the
state file, so fail-back is idempotent and also repairs a half-finished or split-brained pair: of
two primaries, the one on the newer timeline is the one clients were promised.
"""

from __future__ import annotations

import signal
import time
from typing import Any

from drills.errors import ComponentError
from drills.targets.base import Component
from drills.targets.sandbox import postgres as pg
from drills.targets.sandbox.pgcluster import (
    Role,
    connect,
    current_timeline,
    dedupe_auto_conf,
    lsn,
    promote,
    quote,
    role_of,
    run_tool,
    streams_from,
    wait_streaming,
    write_role_settings,
)
from drills.targets.sandbox.stack import Sandbox
from drills.targets.sandbox.state import SandboxState, operation_lock

__all__ = ["clone_standby", "fail_back", "promote_standby", "standby_settings"]

_FAST_SHUTDOWN = signal.SIGINT  # PostgreSQL's fast shutdown
RECONNECT_SECONDS = 2.0  # a healthy standby resumes streaming this fast after its primary restarts


def standby_settings(port: int) -> dict[str, str]:
    """A standby's role block. Archiving stays on: a standby does not archive while it replays
    and starts archiving into the bucket the moment it is promoted, so PITR survives a failover."""
    return {
        "port": str(port),
        "archive_mode": "on",
        "hot_standby": "on",
        "wal_retrieve_retry_interval": quote("200ms"),
    }


def promote_standby(box: Sandbox, timeout_seconds: float = 30.0) -> dict[str, Any]:
    """Promote `postgres-standby`; a standby that is already primary is left alone."""
    with operation_lock(box.layout):
        port = box.state().ports[Component.POSTGRES_STANDBY]
        role = role_of(port)
        if role is Role.DOWN:
            raise ComponentError(f"postgres-standby (port {port}) is down: nothing to promote")
        seconds = 0.0 if role is Role.PRIMARY else promote(port, timeout_seconds)
        return {
            "promoted": role is Role.STANDBY,
            "port": port,
            "promote_seconds": round(seconds, 6),
            "timeline": current_timeline(port),
        }


def fail_back(box: Sandbox) -> dict[str, Any]:
    """Back to `postgres` primary + `postgres-standby` streaming from it (idempotent)."""
    with operation_lock(box.layout):
        state = box.state()
        primary, standby = box.primary_server(state), box.standby_server(state)
        roles = {"postgres": role_of(primary.port), "postgres-standby": role_of(standby.port)}
        steps: list[str] = []
        if _standby_is_authoritative(primary.port, standby.port, roles):
            _switch_back(box, state, primary, standby)
            steps.append("switched back to postgres")
        elif roles["postgres"] is Role.DOWN:
            box.start_component(state, Component.POSTGRES)  # crashed, nobody promoted
            steps.append("restarted postgres")
        elif roles["postgres"] is Role.STANDBY:
            raise ComponentError(
                "postgres is a standby and postgres-standby is not a primary: "
                "promote one of them by hand (pg_promote) before failing back"
            )
        if not _streams_soon(standby.port, primary.port, roles["postgres-standby"]):
            clone_standby(box, state, primary, standby, Component.POSTGRES_STANDBY)
            steps.append("rebuilt postgres-standby from postgres")
        return {"roles_before": {k: v.value for k, v in roles.items()}, "steps": steps}


def _standby_is_authoritative(primary_port: int, standby_port: int, roles: dict[str, Role]) -> bool:
    if roles["postgres-standby"] is not Role.PRIMARY:
        return False
    if roles["postgres"] is not Role.PRIMARY:
        return True
    # Split brain (someone restarted the old primary after a failover): the newer timeline wins.
    return current_timeline(standby_port) > current_timeline(primary_port)


def _streams_soon(standby_port: int, primary_port: int, role: Role) -> bool:
    if role is not Role.STANDBY:
        return False
    deadline = time.monotonic() + RECONNECT_SECONDS
    while time.monotonic() < deadline:
        if streams_from(standby_port, primary_port):
            return True
        time.sleep(0.05)
    return False


def clone_standby(
    box: Sandbox,
    state: SandboxState,
    source: pg.PostgresServer,
    dest: pg.PostgresServer,
    component: Component,
) -> None:
    """Replace `dest`'s data with a fresh clone of `source` and run it as `source`'s standby.

    The caller holds the sandbox's operation lock."""
    box.supervisor.terminate(state.components[component].processes, sig=_FAST_SHUTDOWN)
    box.record_processes(state, component, [])
    source.base_backup(dest.data_dir, for_standby=True)
    write_role_settings(dest.data_dir, standby_settings(dest.port))
    dedupe_auto_conf(dest.data_dir)
    ref = dest.start(box.supervisor)
    box.record_processes(state, component, [ref])
    dest.wait_ready(box.supervisor, ref)
    wait_streaming(dest.port, source.port)


def _switch_back(
    box: Sandbox, state: SandboxState, primary: pg.PostgresServer, promoted: pg.PostgresServer
) -> None:
    """`promoted` (postgres-standby's directory) serves as primary: hand the role back to
    `postgres` without losing a write."""
    clone_standby(box, state, promoted, primary, Component.POSTGRES)
    refs = state.components[Component.POSTGRES_STANDBY].processes
    box.supervisor.terminate(refs, sig=_FAST_SHUTDOWN, timeout_seconds=30.0)
    box.record_processes(state, Component.POSTGRES_STANDBY, [])
    checkpoint = _clean_shutdown_checkpoint(promoted)
    try:
        _wait_received(primary.port, checkpoint)
    except ComponentError:
        ref = promoted.start(box.supervisor)  # undo: the promoted server stays primary
        box.record_processes(state, Component.POSTGRES_STANDBY, [ref])
        raise
    promote(primary.port)


def _clean_shutdown_checkpoint(server: pg.PostgresServer) -> int:
    """The shutdown checkpoint of a cleanly stopped server (everything it committed precedes it)."""
    text = run_tool(
        server.run_as, [str(pg.bin_dir() / "pg_controldata"), "-D", str(server.data_dir)]
    )
    fields = dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition(":") for line in text.splitlines())
    )
    if fields.get("Database cluster state") != "shut down":
        raise ComponentError(
            f"postgres on port {server.port} did not shut down cleanly "
            f"({fields.get('Database cluster state')}); refusing to switch over"
        )
    return lsn(fields["Latest checkpoint location"])


def _wait_received(port: int, checkpoint: int, timeout_seconds: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        with connect(port) as conn:
            row = conn.execute("SELECT pg_last_wal_receive_lsn()::text").fetchone()
        if row and row[0] and lsn(str(row[0])) > checkpoint:
            return
        time.sleep(0.02)
    raise ComponentError(
        f"postgres on port {port} did not receive the promoted server's last WAL in time; "
        "the switchover was undone"
    )
