"""Backups, restores, backup verification and fail-back, as Jobs built from profile templates.

The `Target` protocol's recovery steps map onto the profile's `jobs:` templates (see `jobs` for
how a template becomes a Job and how it is watched to the end):

- `take_backup` -> `jobs.backup` with a fresh `DRILLS_BACKUP_ID`;
- `restore_point_in_time(T)` -> `jobs.restore` with `DRILLS_TARGET_TIME=T` and the newest backup
  drills knows to be older than T (if it knows none, the Job chooses, and says so in its log);
- `restore_snapshot(component, id)` -> `jobs.restore` for that component and backup;
- `verify_backup(id)` -> `jobs.verify`; `rebuild_standby()` -> `jobs.rebuild_standby`.

A step whose template the profile lacks refuses with a `TargetError` that names the key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drills.errors import TargetError
from drills.targets.base import Backup, Component
from drills.targets.kubernetes import jobs
from drills.targets.kubernetes.gateway import Gateway
from drills.targets.kubernetes.profile import JobTemplates

__all__ = ["Recovery"]

AUTO_BACKUP_ID = "chosen-by-restore-job"


class Recovery:
    """The recovery steps of one namespace, through its profile's Job templates."""

    def __init__(
        self, gateway: Gateway, templates: JobTemplates, wait_cap_seconds: float | None = None
    ) -> None:
        self.gateway = gateway
        self.templates = templates
        self.wait_cap_seconds = wait_cap_seconds  # no Job is waited for longer than this
        self.started: list[str] = []  # Jobs this driver created, oldest first

    def take_backup(self, component: Component, timeout_seconds: float) -> Backup:
        backup_id = jobs.new_backup_id()
        outcome = self.run("backup", component, timeout_seconds, backup_id=backup_id)
        taken = (outcome.finished_at if outcome else None) or datetime.now(UTC)
        return Backup(backup_id, component, taken, details=_details(outcome))

    def list_backups(self, component: Component) -> list[Backup]:
        return jobs.list_backup_jobs(self.gateway, component)

    def restore_point_in_time(self, target_time: datetime, timeout_seconds: float) -> Backup:
        if target_time.tzinfo is None:
            target_time = target_time.replace(tzinfo=UTC)
        older = [b for b in self.list_backups(Component.POSTGRES) if b.taken_at <= target_time]
        base = older[-1] if older else None
        outcome = self.run(
            "restore",
            Component.POSTGRES,
            timeout_seconds,
            backup_id=None if base is None else base.backup_id,
            target_time=target_time,
        )
        if base is None:
            return Backup(
                AUTO_BACKUP_ID, Component.POSTGRES, target_time, details=_details(outcome)
            )
        return Backup(base.backup_id, base.component, base.taken_at, details=_details(outcome))

    def restore_snapshot(
        self, component: Component, backup_id: str | None, timeout_seconds: float
    ) -> Backup:
        known = self.list_backups(component)
        if backup_id is None:
            if not known:
                raise TargetError(f"no backup of {component.value} taken by drills to restore")
            chosen = known[-1]
        else:
            matching = [b for b in known if b.backup_id == backup_id]
            chosen = matching[0] if matching else Backup(backup_id, component, datetime.now(UTC))
        # the graph store's restore is its own procedure (the runbook's restore-neo4j.sh)
        purpose = "restore_neo4j" if component is Component.NEO4J else "restore"
        outcome = self.run(purpose, component, timeout_seconds, backup_id=chosen.backup_id)
        return Backup(chosen.backup_id, component, chosen.taken_at, details=_details(outcome))

    def verify_backup(self, backup_id: str, timeout_seconds: float) -> dict[str, Any]:
        outcome = self.run("verify", Component.POSTGRES, timeout_seconds, backup_id=backup_id)
        return {"backup_id": backup_id, "verified": outcome is not None, **_details(outcome)}

    def delete_unfinished(self) -> list[str]:
        """End the Jobs this driver started that are still running (see `jobs`)."""
        return jobs.delete_unfinished(self.gateway, self.started)

    def rebuild_standby(self, timeout_seconds: float) -> None:
        self.run("rebuild_standby", Component.POSTGRES_STANDBY, timeout_seconds)

    def run(
        self,
        purpose: str,
        component: Component,
        timeout_seconds: float,
        *,
        backup_id: str | None = None,
        target_time: datetime | None = None,
    ) -> jobs.JobOutcome | None:
        """Run the `purpose` template to the end (None in a dry run); TargetError if it fails."""
        template = self.templates.get(purpose)
        if template is None:
            raise TargetError(f"the profile has no jobs.{purpose} template")
        return jobs.run_job(
            self.gateway,
            template,
            purpose=purpose.replace("_", "-"),
            component=component,
            backup_id=backup_id,
            target_time=target_time,
            timeout_seconds=min(timeout_seconds, self.wait_cap_seconds or timeout_seconds),
            created=self.started,
        )


def _details(outcome: jobs.JobOutcome | None) -> dict[str, Any]:
    return {"planned": True} if outcome is None else outcome.to_json()
