"""Point-in-time recovery, backup verification and scratch restores from the sandbox's bucket.

The recipe is the one that restored exactly the rows committed up to T in every trial: flush the
WAL archive first (`pg_switch_wal()`, then wait for the archiver), copy the newest base backup that
finished before T, `recovery.signal`, `restore_command` from the bucket, a recovery target, then
promote. Two refinements: recovery *pauses* at the target and is promoted from there at once
(waiting for `recovery_target_action = promote` or a bare `pg_promote()` cost up to a second more),
and the recovery settings are removed again once the server is primary, so a standby cloned from
it later never inherits a recovery target.

A restore in place keeps archiving on (the restored primary is the new truth and its timeline must
reach the bucket); a scratch restore turns it off, or the copy would write its own timeline into the
shared archive and a later restore following the `latest` timeline would follow the scratch.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg

from drills.errors import ComponentError, TargetError
from drills.targets.sandbox import postgres as pg
from drills.targets.sandbox.pgcluster import (
    Role,
    archive_restore_command,
    connect,
    quote,
    run_tool,
    wait_role,
    write_role_settings,
)
from drills.targets.sandbox.processes import ProcessRef, RunAs, Supervisor, tail
from drills.targets.sandbox.state import Layout

__all__ = [
    "BaseBackup",
    "base_backups",
    "newest_before",
    "recover",
    "recovery_settings",
    "restore_copy",
    "stop_scratch_instances",
    "verify_backup",
]

MANIFEST = "backup_manifest"


@dataclass(frozen=True)
class BaseBackup:
    """A finished base backup in the bucket: named by its start, finished when its manifest was
    written (pg_basebackup writes the manifest last)."""

    backup_id: str
    path: Path
    started_at: datetime
    completed_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "backup_id": self.backup_id,
            "started_at": self.started_at.isoformat(),
            "completed_at": self.completed_at.isoformat(),
        }


def base_backups(layout: Layout) -> list[BaseBackup]:
    """Finished base backups, oldest first (a backup without its manifest never finished)."""
    found: list[BaseBackup] = []
    for path in sorted(layout.base_backups.glob("*")):
        manifest = path / MANIFEST
        if not manifest.is_file():
            continue
        try:
            started = datetime.strptime(path.name, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
        except ValueError:
            continue
        completed = datetime.fromtimestamp(manifest.stat().st_mtime, UTC)
        found.append(BaseBackup(path.name, path, started, completed))
    return found


def newest_before(layout: Layout, moment: datetime) -> BaseBackup:
    """The newest base backup that had finished by `moment` (recovery to an earlier point than a
    backup's end is impossible)."""
    usable = [b for b in base_backups(layout) if b.completed_at < moment]
    if not usable:
        raise TargetError(
            f"no base backup in {layout.base_backups} finished before {moment.isoformat()}"
        )
    return usable[-1]


def verify_backup(layout: Layout, backup_id: str, run_as: RunAs | None) -> dict[str, Any]:
    """`pg_verifybackup`: every file against the manifest's checksums, and the WAL the backup
    needs. Raises TargetError naming what is wrong."""
    path = layout.base_backups / backup_id
    if not (path / MANIFEST).is_file():
        raise TargetError(
            f"base backup {backup_id!r} not found (or unfinished) in {layout.base_backups}"
        )
    started = time.monotonic()
    try:
        run_tool(run_as, [str(pg.bin_dir() / "pg_verifybackup"), str(path)])
    except ComponentError as exc:
        raise TargetError(f"base backup {backup_id} is damaged: {exc}") from exc
    manifest = json.loads((path / MANIFEST).read_text())
    return {
        "backup_id": backup_id,
        "verified": True,
        "files": len(manifest.get("Files", [])),
        "wal_ranges": len(manifest.get("WAL-Ranges", [])),
        "verify_seconds": round(time.monotonic() - started, 6),
    }


def recovery_settings(
    port: int,
    archive: Path,
    target: Mapping[str, str],
    *,
    archive_mode: bool,
    fallback_wal: Path | None,
) -> dict[str, str]:
    """The role block of a cluster being restored to `target` (quoted recovery_target_* values)."""
    return {
        "port": str(port),
        "archive_mode": "on" if archive_mode else "off",
        "hot_standby": "on",
        "restore_command": archive_restore_command(archive, fallback_wal),
        **target,
        "recovery_target_action": quote("pause"),
        "recovery_target_timeline": quote("latest"),
    }


def restore_copy(
    backup: BaseBackup, dest: Path, settings: Mapping[str, str], run_as: RunAs | None
) -> None:
    """A copy of the base backup at `dest`, set up to recover with `settings`."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if run_as is not None:
        run_as.chown(dest.parent)
    run_tool(run_as, ["cp", "-a", str(backup.path), str(dest)])
    dest.chmod(0o700)
    write_role_settings(dest, settings)
    for stale in ("standby.signal", "postmaster.pid", MANIFEST):
        (dest / stale).unlink(missing_ok=True)
    signal_file = dest / "recovery.signal"
    signal_file.touch()
    if run_as is not None:
        run_as.chown(signal_file)


def recover(
    server: pg.PostgresServer,
    supervisor: Supervisor,
    ref: ProcessRef,
    timeout_seconds: float = 120.0,
) -> float:
    """Wait until recovery pauses at its target, promote, wait until writable; seconds taken."""
    started = time.monotonic()
    deadline = started + timeout_seconds
    while time.monotonic() < deadline:
        if supervisor.exited(ref) is not None or not ref.alive():
            raise ComponentError(
                f"recovery on port {server.port} stopped:\n{tail(server.log_path, 12)}"
            )
        try:
            with connect(server.port, timeout_seconds=1) as conn:
                # the pause state is an error once recovery has ended (no target: replayed to the
                # end and promoted by itself), so ask for it only while in recovery
                row = conn.execute(
                    "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery()"
                    " THEN pg_get_wal_replay_pause_state() END"
                ).fetchone()
        except psycopg.Error:
            row = None
        if row is not None and not row[0]:
            return time.monotonic() - started
        if row is not None and row[1] == "paused":
            end_pause(server.port)
            wait_role(server.port, Role.PRIMARY, max(1.0, deadline - time.monotonic()))
            return time.monotonic() - started
        time.sleep(0.01)
    raise ComponentError(
        f"recovery on port {server.port} not finished after {timeout_seconds:.0f} s:\n"
        f"{tail(server.log_path, 12)}"
    )


def end_pause(port: int) -> None:
    """Promote a recovery paused at its target, at once.

    `pg_promote()` alone is noticed only when the paused startup process next wakes (up to a
    second later); `pg_wal_replay_resume()` wakes it now. Promote first, so it ends recovery as
    a fast promotion (no end-of-recovery checkpoint before the first write)."""
    with connect(port) as conn:
        conn.execute("SELECT pg_promote(wait => false)")
        time.sleep(0.005)  # the promote signal reaches the startup process before it wakes
        with contextlib.suppress(psycopg.errors.ObjectNotInPrerequisiteState):
            conn.execute("SELECT pg_wal_replay_resume()")


def stop_scratch_instances(root: Path) -> list[str]:
    """Stop and delete every scratch instance under `root` (also ones a crashed harness left)."""
    removed: list[str] = []
    if not root.exists():
        return removed
    for data_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        _stop_by_pidfile(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
        removed.append(data_dir.name)
    return removed


def _stop_by_pidfile(data_dir: Path) -> None:
    try:
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
        proc = psutil.Process(pid)
        if str(data_dir) not in " ".join(proc.cmdline()):
            return  # a recycled pid, not our server
    except (OSError, ValueError, IndexError, psutil.Error):
        return
    with contextlib.suppress(psutil.Error):
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
