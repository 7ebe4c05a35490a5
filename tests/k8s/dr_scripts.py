"""What a staging cluster's backup, verify, restore and reseed Jobs run, on a real PostgreSQL.

In a cluster the profile's Job templates run the runbook's scripts (`scripts/dr/*.sh`: a base
backup into the bucket, `pg_verifybackup`, `restore-postgresql.sh --backup-id ID --target-time
T`, re-seeding the standby). The emulated cluster's Job controller runs these functions instead,
against the real primary/standby pair that the profile's `database.conninfo` reaches, with the
parameters the driver gave the Job (`DRILLS_BACKUP_ID`, `DRILLS_TARGET_TIME`,
`DRILLS_COMPONENT`). So a data-corruption drill on the emulated cluster is measured against a
restore that really restores: PostgreSQL's own point-in-time recovery from a base backup plus the
WAL archive, the recipe in the field notes (flush the archive, copy the base backup,
`recovery.signal`, `restore_command`, `recovery_target_time`, promote).

Redis in the emulated cluster is paper (pods only); its snapshot and restore succeed and say so.
Each step returns its log (what the Job's pod prints) or raises `ScriptFailed` (the Job fails).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

from drills.integrity import bad_rows_where
from tests.k8s.database_pair import Standby, streaming
from tests.service.stack import PG_USER, Postgres, _as_pg_user, wait_until

MANIFEST = "backup_manifest"
RECOVERY_MARK = "# drills restore job: recovery settings"


class ScriptFailed(Exception):
    """The script exited non-zero: its Job fails with this message as the last log line."""


@dataclass
class RestoredTruth:
    """What a restore to `target` threw away, read from the primary just before it was stopped:
    the intact canary records committed after the target (by PostgreSQL's commit timestamps)."""

    target: datetime
    lost: dict[str, set[int]] = field(default_factory=dict)  # stream -> seqs


@dataclass
class DrScripts:
    """The scripts, bound to one primary/standby pair, its WAL archive and its backup bucket."""

    primary: Postgres
    standby: Standby
    archive: Path
    bucket: Path
    restores: list[RestoredTruth] = field(default_factory=list)
    restoring: bool = False  # the primary is down for its restore

    def __post_init__(self) -> None:
        self._lock = threading.Lock()  # one script at a time touches the pair

    # -- what a Job runs ---------------------------------------------------------------------

    def run(self, purpose: str, env: dict[str, str]) -> str:
        """The Job's script for `purpose` with the Job's environment; its log."""
        component = env.get("DRILLS_COMPONENT", "postgres")
        with self._lock:
            if component == "redis":
                return f"redis {purpose}: the emulated Redis keeps no data; nothing to do\n"
            if purpose == "backup":
                return self.backup(_required(env, "DRILLS_BACKUP_ID"))
            if purpose == "verify":
                return self.verify(_required(env, "DRILLS_BACKUP_ID"))
            if purpose == "restore":
                target = datetime.fromisoformat(_required(env, "DRILLS_TARGET_TIME"))
                return self.restore(env.get("DRILLS_BACKUP_ID"), target)
            if purpose == "rebuild-standby":
                return self.rebuild_standby()
        raise ScriptFailed(f"no script for a {purpose} Job")

    def backup(self, backup_id: str) -> str:
        """`pg_basebackup -X stream -c fast` into the bucket under `backup_id`."""
        dest = self.bucket / backup_id
        if dest.exists():
            raise ScriptFailed(f"backup {backup_id} already exists in the bucket")
        started = time.monotonic()
        self._tool("pg_basebackup", "-D", str(dest), *self._source(), "-X", "stream", "-c", "fast")
        return f"base backup {backup_id}: {time.monotonic() - started:.2f} s\n"

    def verify(self, backup_id: str) -> str:
        path = self.bucket / backup_id
        if not (path / MANIFEST).is_file():
            raise ScriptFailed(f"backup {backup_id} not found (or unfinished) in the bucket")
        self._tool("pg_verifybackup", str(path))
        return f"backup {backup_id} verified\n"

    def restore(self, backup_id: str | None, target: datetime) -> str:
        """`restore-postgresql.sh --backup-id ID --target-time T`, in place on the primary."""
        base = self._base_backup(backup_id, target)
        self._flush_archive()
        self.restores.append(RestoredTruth(target, self._committed_after(target)))
        started = time.monotonic()
        self.restoring = True
        try:
            self.primary.stop()
            before = self.primary.datadir.with_name("pgdata.before-restore")
            shutil.rmtree(before, ignore_errors=True)
            self.primary.datadir.rename(before)
            subprocess.run(["cp", "-a", str(base), str(self.primary.datadir)], check=True)
            conf = self.primary.datadir / "postgresql.conf"
            original = conf.read_text()
            conf.write_text(original + self._recovery_settings(target))
            (self.primary.datadir / "recovery.signal").touch()
            (self.primary.datadir / MANIFEST).unlink(missing_ok=True)
            if os.geteuid() == 0:
                subprocess.run(["chown", "-R", f"{PG_USER}:{PG_USER}", str(self.primary.datadir)])
            self.primary.start()
            wait_until(self._writable, 60, "the restored primary to be promoted")
            conf.write_text(original)  # a standby cloned from it must not inherit the target
        except (AssertionError, OSError, subprocess.CalledProcessError) as exc:
            raise ScriptFailed(f"point-in-time restore failed: {exc}") from exc
        finally:
            self.restoring = False
        return (
            f"restored backup {base.name} to {target.isoformat()} "
            f"in {time.monotonic() - started:.2f} s\n"
        )

    def rebuild_standby(self) -> str:
        """Re-seed the standby from the primary (after a restore it is on a dead timeline)."""
        if streaming(self.primary):
            return "the standby streams from the primary; nothing to rebuild\n"
        started = time.monotonic()
        self.standby.stop()
        shutil.rmtree(self.standby.datadir, ignore_errors=True)
        try:
            self.standby.clone(self.primary)
            wait_until(lambda: streaming(self.primary), 60, "the re-seeded standby to stream")
        except (AssertionError, subprocess.CalledProcessError) as exc:
            raise ScriptFailed(f"standby rebuild failed: {exc}") from exc
        return f"standby re-seeded in {time.monotonic() - started:.2f} s\n"

    # -- plumbing ----------------------------------------------------------------------------

    def _base_backup(self, backup_id: str | None, target: datetime) -> Path:
        """The named backup, refused when it finished after the target; else the newest one
        that finished before it (what the Job chooses when drills knows no backup)."""
        finished = {
            path: datetime.fromtimestamp((path / MANIFEST).stat().st_mtime, target.tzinfo)
            for path in self.bucket.iterdir()
            if (path / MANIFEST).is_file()
        }
        if backup_id is not None:
            path = self.bucket / backup_id
            if path not in finished:
                raise ScriptFailed(f"backup {backup_id} not found in the bucket")
            if finished[path] >= target:
                raise ScriptFailed(f"backup {backup_id} finished after {target.isoformat()}")
            return path
        usable = sorted((at, path) for path, at in finished.items() if at < target)
        if not usable:
            raise ScriptFailed(f"no base backup finished before {target.isoformat()}")
        return usable[-1][1]

    def _flush_archive(self) -> None:
        """Close the current WAL segment and wait until it is archived (commits up to now are
        then restorable from the archive)."""
        with psycopg.connect(self.primary.conninfo("postgres"), autocommit=True) as conn:
            row = conn.execute("SELECT pg_walfile_name(pg_switch_wal() - 1)").fetchone()
            assert row is not None
            segment = str(row[0])
            deadline = time.monotonic() + 30
            while True:
                stats = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()
                archived = str(stats[0]) if stats and stats[0] else ""
                if len(archived) >= 24 and archived[:24] >= segment:
                    return
                if time.monotonic() > deadline:
                    raise ScriptFailed(f"WAL segment {segment} not archived after 30 s")
                time.sleep(0.02)

    def _committed_after(self, target: datetime) -> dict[str, set[int]]:
        """Intact records committed after `target` (a record the fault tampered with has a new
        row version committed after it too, but its original survives the restore)."""
        query = (
            "SELECT stream, seq FROM canary_records WHERE pg_xact_commit_timestamp(xmin) > %s"
            f" AND NOT ({bad_rows_where('canary_records')})"
        )
        lost: dict[str, set[int]] = {}
        with psycopg.connect(self.primary.conninfo(), autocommit=True) as conn:
            for stream, seq in conn.execute(query, (target,)).fetchall():
                lost.setdefault(str(stream), set()).add(int(seq))
        return lost

    def _recovery_settings(self, target: datetime) -> str:
        fetch = f'test -f "{self.archive}/%f" && cp "{self.archive}/%f" "%p"'
        settings = {
            "restore_command": fetch,
            "recovery_target_time": target.isoformat(),
            "recovery_target_action": "promote",
            "recovery_target_timeline": "latest",
        }
        lines = "\n".join(f"{key} = '{value}'" for key, value in settings.items())
        return f"\n{RECOVERY_MARK}\n{lines}\n"

    def _writable(self) -> bool:
        try:
            with psycopg.connect(self.primary.conninfo("postgres")) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        except psycopg.OperationalError:
            return False
        return row is not None and not row[0]

    def _source(self) -> list[str]:
        return ["-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres"]

    def _tool(self, name: str, *args: str) -> None:
        done = subprocess.run(
            _as_pg_user([str(self.primary.bin / name), *args]),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PGPASSWORD": self.primary.password},
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
            raise ScriptFailed(f"{name} failed: {lines[-1]}")


def _required(env: dict[str, str], key: str) -> str:
    value = env.get(key)
    if not value:
        raise ScriptFailed(f"{key} is not set in the Job's environment")
    return value


def start_restorable_pair(root: Path) -> DrScripts:
    """A primary archiving its WAL (with commit timestamps, so corruption can be dated), a
    streaming standby, an empty backup bucket, and the scripts bound to them."""
    archive, bucket = root / "wal-archive", root / "backups"
    for directory in (archive, bucket):
        directory.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(directory, PG_USER, PG_USER)
    primary = Postgres(root / "primary")
    (root / "primary").mkdir(parents=True)
    primary.init()
    standby = Standby(root / "standby")
    try:
        settings = {
            "archive_mode": "on",
            "archive_command": f'test ! -f "{archive}/%f" && cp %p "{archive}/%f"',
            "track_commit_timestamp": "on",
            "autovacuum": "off",
        }
        with psycopg.connect(primary.conninfo("postgres"), autocommit=True) as conn:
            for key, value in settings.items():
                conn.execute(f"ALTER SYSTEM SET {key} = '{value}'")
        primary.stop()
        primary.start()  # archive_mode and track_commit_timestamp need a restart
        standby.clone(primary)
        wait_until(lambda: streaming(primary), 30, "the standby to stream")
    except BaseException:
        standby.stop()
        primary.stop()
        raise
    return DrScripts(primary, standby, archive, bucket)
