"""One drill per namespace at a time: a `coordination.k8s.io/v1` Lease named `drills-lock`.

Two drills on one namespace would corrupt each other's measurements (one's fault is the other's
outage) and could stack faults into a real outage. The lock lives in the cluster, not on the
runner, so a CronJob pod and an SRE's laptop see the same lock.

- `acquire()` creates the Lease; if it exists and was renewed within its duration by another
  holder, `TargetBusyError` says who holds it and until when. An expired Lease (a crashed
  runner) is taken over with an optimistic-concurrency patch (`metadata.resourceVersion`), so
  two runners racing for it cannot both win.
- `renew()` pushes `renewTime` forward; `keep_alive()` does that from a thread while a drill runs.
- `release()` deletes the Lease only while we still hold it.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from drills.errors import TargetBusyError, TargetError
from drills.targets.kubernetes.gateway import Gateway, JsonObject
from drills.targets.kubernetes.readiness import parse_time
from drills.targets.kubernetes.resources import LEASES

__all__ = ["LEASE_NAME", "DrillLease", "default_holder"]

LEASE_NAME = "drills-lock"


def default_holder(run_id: str | None = None) -> str:
    """`host/pid/run`: in a CronJob pod the host is the pod's name."""
    return f"{socket.gethostname()}/{os.getpid()}/{run_id or uuid.uuid4().hex[:8]}"


def _micro_time(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class DrillLease:
    """The namespace's drill lock, held by `holder` for `duration_seconds` per renewal."""

    def __init__(
        self,
        gateway: Gateway,
        holder: str | None = None,
        *,
        duration_seconds: int = 60,
        name: str = LEASE_NAME,
    ) -> None:
        self.gateway = gateway
        self.holder = holder or default_holder()
        self.duration_seconds = duration_seconds
        self.name = name
        self.held = False
        self.lost: str | None = None
        self._resource_version: str | None = None
        self._transitions = 0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        now = datetime.now(UTC)
        if self.gateway.dry_run:  # plan the create, but refuse now if the real run would be
            existing = self.gateway.get(LEASES, self.name)
            if existing is not None:
                self._refuse_if_held(existing.get("spec") or {}, now)
            self.gateway.try_create(LEASES, self._body(now, now))
            self.held = True
            return
        created, obj = self.gateway.try_create(LEASES, self._body(now, now))
        if created:
            self._took(obj)
            return
        existing = self.gateway.get(LEASES, self.name)
        if existing is None:  # released between our create and our read: try once more
            created, obj = self.gateway.try_create(LEASES, self._body(now, now))
            if not created:
                raise TargetBusyError(f"{self._where()}: another drill took the lock just now")
            self._took(obj)
            return
        spec = existing.get("spec") or {}
        self._refuse_if_held(spec, now)
        self._transitions = int(spec.get("leaseTransitions") or 0) + 1
        self._resource_version = (existing.get("metadata") or {}).get("resourceVersion")
        if not self._patch(self._body(now, now)):
            raise TargetBusyError(f"{self._where()}: another drill took the expired lock first")
        self.held = True

    def renew(self) -> None:
        with self._lock:
            if not self.held:
                raise TargetError(f"{self._where()}: cannot renew a lock we do not hold")
            if not self._patch({"spec": {"renewTime": _micro_time(datetime.now(UTC))}}):
                self.held = False
                self.lost = "another holder changed the Lease"
                raise TargetBusyError(f"{self._where()}: lost the lock to another drill")

    def release(self) -> None:
        with self._lock:
            if not self.held:
                return
            self.held = False
            if self.gateway.dry_run:
                self.gateway.delete(LEASES, self.name)
                return
            current = self.gateway.get(LEASES, self.name)
            if current is None or (current.get("spec") or {}).get("holderIdentity") != self.holder:
                return  # expired and taken over, or deleted by hand: not ours to delete
            version = (current.get("metadata") or {}).get("resourceVersion")
            self.gateway.delete(LEASES, self.name, resource_version=version)

    @contextmanager
    def keep_alive(self, interval_seconds: float | None = None) -> Iterator[DrillLease]:
        """Hold the lock for the duration of the block, renewing it from a daemon thread."""
        interval = interval_seconds or self.duration_seconds / 3
        if not self.held:
            self.acquire()
        stop = threading.Event()

        def renew_until_stopped() -> None:
            while not stop.wait(interval):
                try:
                    self.renew()
                except TargetError as exc:
                    self.lost = str(exc)
                    return

        thread = threading.Thread(target=renew_until_stopped, name="drills-lease", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(timeout=interval + 5)
            self.release()

    def _refuse_if_held(self, spec: JsonObject, now: datetime) -> None:
        holder = spec.get("holderIdentity")
        expires = self._expiry(spec)
        if holder and holder != self.holder and expires is not None and expires > now:
            left = (expires - now).total_seconds()
            raise TargetBusyError(
                f"{self._where()} is held by another drill ({holder}) for {left:.0f} s more; "
                "one drill per namespace at a time (wait, or delete the Lease if that drill died)"
            )

    def _took(self, obj: JsonObject | None) -> None:
        self.held = True
        self._resource_version = (
            None if obj is None else (obj.get("metadata") or {}).get("resourceVersion")
        )

    def _patch(self, body: JsonObject) -> bool:
        if self._resource_version:
            body = {**body, "metadata": {"resourceVersion": self._resource_version}}
        ok, obj = self.gateway.patch_unless_conflict(LEASES, self.name, body)
        if ok and obj is not None:
            self._resource_version = (obj.get("metadata") or {}).get("resourceVersion")
        return ok

    def _body(self, acquired: datetime, renewed: datetime) -> dict[str, Any]:
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": self.name,
                "namespace": self.gateway.namespace,
                "labels": {"app.kubernetes.io/managed-by": "drills"},
            },
            "spec": {
                "holderIdentity": self.holder,
                "leaseDurationSeconds": self.duration_seconds,
                "acquireTime": _micro_time(acquired),
                "renewTime": _micro_time(renewed),
                "leaseTransitions": self._transitions,
            },
        }

    def _expiry(self, spec: JsonObject) -> datetime | None:
        renewed = parse_time(spec.get("renewTime")) or parse_time(spec.get("acquireTime"))
        if renewed is None:
            return None
        return renewed + timedelta(seconds=int(spec.get("leaseDurationSeconds") or 0))

    def _where(self) -> str:
        return f"Lease {self.gateway.namespace}/{self.name}"
