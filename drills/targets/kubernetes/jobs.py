"""Backups and restores as Kubernetes Jobs built from the profile's templates.

How a database is backed up or restored differs between clusters (pgBackRest, WAL-G, a cloud
snapshot, the runbook's `restore-postgresql.sh`), so the profile supplies Job templates and the
driver only runs them: it names and labels the Job, passes the drill's parameters as environment
variables, creates it, and *watches* it until its `Complete` or `Failed` condition appears.

The driver chooses backup ids (`drills-<utc stamp>-<4 hex>`) and hands them to the backup Job as
`DRILLS_BACKUP_ID`; the Job stores the backup under that id, and `list_backups()` finds the
succeeded backup Jobs by their `drills.dev/backup-id` label.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from drills.errors import TargetError
from drills.targets.base import Backup, Component
from drills.targets.kubernetes.gateway import Gateway, JsonObject
from drills.targets.kubernetes.manifests import (
    BACKUP_ID_LABEL,
    COMPONENT_LABEL,
    PURPOSE_LABEL,
    job_from_template,
)
from drills.targets.kubernetes.readiness import labels_match, parse_time, selector_text
from drills.targets.kubernetes.resources import JOBS, PODS

__all__ = [
    "JobOutcome",
    "delete_unfinished",
    "job_state",
    "list_backup_jobs",
    "new_backup_id",
    "run_job",
]

_LOG_TAIL_LINES = 50


@dataclass(frozen=True)
class JobOutcome:
    """A finished Job: did it succeed, when, and the tail of its pod's log."""

    name: str
    succeeded: bool
    message: str
    started_at: datetime | None
    finished_at: datetime | None
    waited_seconds: float
    log_tail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "job": self.name,
            "succeeded": self.succeeded,
            "message": self.message,
            "started_at": None if self.started_at is None else self.started_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "waited_seconds": round(self.waited_seconds, 3),
            "log_tail": self.log_tail,
        }


def new_backup_id(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dt%H%M%Sz")
    return f"drills-{stamp}-{uuid.uuid4().hex[:4]}"


def job_state(job: JsonObject) -> tuple[bool | None, str]:
    """(True: succeeded, False: failed, None: still running), with the reason."""
    status = job.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True":
            continue
        kind = condition.get("type")
        if kind in ("Complete", "SuccessCriteriaMet"):
            return True, str(condition.get("message") or "completed")
        if kind in ("Failed", "FailureTarget"):
            reason = condition.get("reason") or "Failed"
            return False, f"{reason}: {condition.get('message') or 'the Job failed'}"
    completions = int((job.get("spec") or {}).get("completions") or 1)
    if int(status.get("succeeded") or 0) >= completions:
        return True, f"{completions} completion(s)"
    return None, f"{int(status.get('active') or 0)} active, {int(status.get('failed') or 0)} failed"


def run_job(
    gateway: Gateway,
    template: Mapping[str, Any],
    *,
    purpose: str,
    component: Component,
    timeout_seconds: float,
    backup_id: str | None = None,
    target_time: datetime | None = None,
    created: list[str] | None = None,
) -> JobOutcome | None:
    """Create a Job from `template` and watch it to the end; None when a dry run planned it.

    A Job that fails raises TargetError (it is left in place for inspection; its name is in the
    message); so does one that outlives `timeout_seconds`, and `delete_unfinished` ends it. The
    created Job's name is appended to `created`.
    """
    body = job_from_template(
        template,
        namespace=gateway.namespace,
        purpose=purpose,
        component=component.value,
        backup_id=backup_id,
        target_time=target_time,
    )
    name = str(body["metadata"]["name"])
    started = time.monotonic()
    if gateway.create(JOBS, body) is None:
        gateway.plan_wait(JOBS, name, "until the Job completes or fails")
        return None
    if created is not None:
        created.append(name)
    last = "not started"
    for event in gateway.watch(
        JOBS, field_selector=f"metadata.name={name}", timeout_seconds=timeout_seconds
    ):
        job = event["object"]
        if (job.get("metadata") or {}).get("name") != name:
            continue
        if event["type"] == "DELETED":
            raise TargetError(f"{purpose} Job {name} was deleted before it finished")
        done, last = job_state(job)
        if done is None:
            continue
        status = job.get("status") or {}
        outcome = JobOutcome(
            name=name,
            succeeded=done,
            message=last,
            started_at=parse_time(status.get("startTime")),
            finished_at=parse_time(status.get("completionTime")),
            waited_seconds=time.monotonic() - started,
            log_tail=_log_tail(gateway, name),
        )
        if not done:
            tail = outcome.log_tail.strip().splitlines()[-1:] or ["(no log)"]
            raise TargetError(f"{purpose} Job {name} failed ({last}); last log line: {tail[0]}")
        return outcome
    raise TargetError(f"{purpose} Job {name} not finished after {timeout_seconds:.0f} s ({last})")


def delete_unfinished(gateway: Gateway, names: list[str]) -> list[str]:
    """Delete those of `names` that still run (with their pods); the names deleted.

    A drill that ends (aborted, interrupted, or a Job that outlived its wait) must not leave a
    restore or verify Job running in staging; finished Jobs stay for inspection.
    """
    deleted: list[str] = []
    for name in names:
        job = gateway.get(JOBS, name)
        if job is None or job_state(job)[0] is not None:
            continue
        if gateway.delete(JOBS, name, propagation_policy="Background"):
            deleted.append(name)
    return deleted


def list_backup_jobs(gateway: Gateway, component: Component) -> list[Backup]:
    """Backups taken by succeeded drills backup Jobs for `component`, oldest first."""
    selector = {PURPOSE_LABEL: "backup", COMPONENT_LABEL: component.value}
    backups: list[Backup] = []
    for job in gateway.list(JOBS, label_selector=selector_text(selector)):
        labels = (job.get("metadata") or {}).get("labels") or {}
        if not labels_match(job, selector) or BACKUP_ID_LABEL not in labels:
            continue
        done, _ = job_state(job)
        status = job.get("status") or {}
        taken = parse_time(status.get("completionTime")) or parse_time(status.get("startTime"))
        if done is not True or taken is None:
            continue
        name = str(job["metadata"]["name"])
        backups.append(
            Backup(str(labels[BACKUP_ID_LABEL]), component, taken, details={"job": name})
        )
    return sorted(backups, key=lambda backup: backup.taken_at)


def _log_tail(gateway: Gateway, job_name: str) -> str:
    selector = {"job-name": job_name}
    pods = [
        pod
        for pod in gateway.list(PODS, label_selector=selector_text(selector))
        if labels_match(pod, selector)
    ]
    if not pods:
        return ""
    pods.sort(key=lambda pod: str((pod.get("metadata") or {}).get("creationTimestamp") or ""))
    latest = str(pods[-1]["metadata"]["name"])
    return gateway.pod_log(latest, tail_lines=_LOG_TAIL_LINES)
