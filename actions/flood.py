"""Start and stop bounded loopback load against the control plane (runbook scenario 3's flood).

The load runs in its own process in the background (see `drills.flood`), from the given source
addresses, and ends by itself at its count or time limit; `stop_flood` ends it early and reports
what it sent and what it got back. Only loopback targets are accepted: a target whose control plane
is not on 127.0.0.0/8 is refused.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ActivityFailed

from drills.activity_measurements import REPORT_KEY
from drills.background import Slot
from drills.controlplane import paths
from drills.errors import DrillError
from drills.flood import FloodPlan, FloodProcess
from drills.targets.registry import target_from

__all__ = ["start_flood", "stop_flood"]

Configuration = dict[str, Any]
Secrets = dict[str, Any]

ATTACKERS = ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]

_floods: Slot[FloodProcess] = Slot("flood")


def _key(configuration: Configuration | None, name: str) -> str:
    return f"{target_from(configuration).name}#{name}"


def start_flood(
    path: str = paths.GRAPHQL,
    method: str = "POST",
    body: str | None = '{"query": "{ healthCheck }"}',
    sources: list[str] | None = None,
    connections: int = 256,
    requests_per_connection: int = 20,
    rate_per_second: float = 3000.0,
    max_requests: int = 200_000,
    max_seconds: float = 45.0,
    name: str = "flood",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Start a bounded flood from `sources` (loopback) in the background; returns its plan.

    It stops by itself after `max_requests` requests or `max_seconds`, whichever comes first, and
    never sends to anything but the target's loopback control-plane address.
    """
    target = target_from(configuration)
    trust = target.control_plane_tls
    try:
        plan = FloodPlan(
            url=target.control_plane_url,
            ca_bundle=None if trust.ca_bundle is None else str(trust.ca_bundle),
            insecure=trust.insecure,
            path=path,
            method=method.upper(),
            body=body,
            sources=tuple(sources or ATTACKERS),
            connections=int(connections),
            requests_per_connection=int(requests_per_connection),
            rate_per_second=float(rate_per_second),
            max_requests=int(max_requests),
            max_seconds=float(max_seconds),
        )
    except DrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    folder = Path(tempfile.mkdtemp(prefix="drills-flood-"))
    process = FloodProcess(plan, folder / f"{name}.json")
    previous = _floods.put(_key(configuration, name), process)
    if previous is not None:
        previous.stop()
        shutil.rmtree(previous.result_path.parent, ignore_errors=True)
    pid = process.start()
    return {"name": name, "pid": pid, "plan": plan.to_json()}


def stop_flood(
    name: str = "flood",
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> dict[str, Any]:
    """Stop the named flood (if it still runs) and report its counts; a no-op when none runs."""
    process = _floods.take(_key(configuration, name))
    if process is None:
        return {"name": name, "running": False}
    report = process.stop()
    shutil.rmtree(process.result_path.parent, ignore_errors=True)
    if report is None:
        return {"name": name, "running": False, "report": None}
    by_status = report.by_status
    measured = {
        f"{name}_requests": report.requests,
        f"{name}_rate_limited": by_status.get("429", 0),
        f"{name}_denied": by_status.get("403", 0),
        f"{name}_no_answer": report.errors,
    }
    return {"name": name, "report": report.to_json(), REPORT_KEY: measured}
