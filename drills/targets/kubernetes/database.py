"""Finding and ending long-running queries with `psql` inside the database pod.

The runbook's step is `kubectl exec -it postgresql-0 -- psql -U postgres -c "SELECT ... FROM
pg_stat_activity ..."`; the driver does the same through the exec API, without a TTY, and asks
PostgreSQL for one line of JSON so the answer parses reliably whatever the queries contain.

No password crosses the wire: when the pod needs one, the profile names the environment variable
*inside the pod* that holds it (`database.password_env_in_pod`), and the command reads it there
(`sh -c 'PGPASSWORD="$VAR" exec "$@"' psql ...`, the SQL passed as an argument, never spliced
into shell text).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from drills.errors import InputError, TargetError
from drills.targets.base import Component
from drills.targets.kubernetes.gateway import Gateway
from drills.targets.kubernetes.profile import DatabaseSettings, KubernetesProfile, WorkloadKind

__all__ = [
    "LongQuery",
    "find_long_queries",
    "locate",
    "promote",
    "psql_command",
    "terminate_long_queries",
]

_LONG = (
    "FROM pg_stat_activity WHERE state <> 'idle' AND pid <> pg_backend_pid() "
    "AND backend_type = 'client backend' AND now() - query_start > make_interval(secs => {secs})"
)
_FIND = (
    "SELECT coalesce(json_agg(json_build_object('pid', pid, 'seconds', "
    "extract(epoch FROM now() - query_start), 'state', state, 'user', usename, "
    "'query', left(query, 200)) ORDER BY query_start), '[]') " + _LONG
)
# pg_promote(wait => true, wait_seconds => 60) returns once the standby accepts writes.
_PROMOTE = "SELECT json_build_array(json_build_object('promoted', pg_promote(true, 60)))"
_TERMINATE = (
    "SELECT coalesce(json_agg(json_build_object('pid', pid, 'terminated', "
    "pg_terminate_backend(pid))), '[]') " + _LONG
)


@dataclass(frozen=True)
class LongQuery:
    """A query running longer than the threshold (text cut to 200 characters)."""

    pid: int
    seconds: float
    state: str | None
    user: str | None
    query: str

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "seconds": round(self.seconds, 3),
            "state": self.state,
            "user": self.user,
            "query": self.query,
        }


def psql_command(settings: DatabaseSettings, sql: str) -> list[str]:
    """The argv that runs `sql` with psql in the pod (unaligned, tuples only, stop on error)."""
    psql = [
        "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
        "-U", settings.user, "-d", settings.dbname, "-c", sql,
    ]  # fmt: skip
    if settings.password_env_in_pod is None:
        return psql
    script = f'PGPASSWORD="${settings.password_env_in_pod}" exec "$@"'
    return ["sh", "-c", script, "psql", *psql]


def locate(profile: KubernetesProfile, *, standby: bool = False) -> tuple[DatabaseSettings, str]:
    """The psql settings and the pod to run it in (the standby's pod with `standby`).

    Unnamed pods default to ordinal 0 of the component's StatefulSet (`postgresql-0`); the
    container defaults to the component's.
    """
    component = Component.POSTGRES_STANDBY if standby else Component.POSTGRES
    settings = profile.database or DatabaseSettings()
    pod = settings.standby_pod if standby else settings.pod
    spec = profile.components.get(component)
    if pod is None:
        key = "database.standby_pod" if standby else "database.pod"
        if spec is None or spec.kind is not WorkloadKind.STATEFULSET:
            raise TargetError(f"name the {component.value} pod in the profile ({key})")
        pod = f"{spec.name}-0"
    if settings.container is None and spec is not None:
        settings = dataclasses.replace(settings, container=spec.container)
    return settings, pod


def find_long_queries(
    gateway: Gateway, settings: DatabaseSettings, pod: str, older_than_seconds: float
) -> list[LongQuery]:
    """Queries running longer than `older_than_seconds` (read-only; runs in a dry run too)."""
    sql = _FIND.format(secs=_seconds(older_than_seconds))
    rows = _run(gateway, settings, pod, sql, mutating=False)
    return [
        LongQuery(
            pid=int(row["pid"]),
            seconds=float(row.get("seconds") or 0.0),
            state=row.get("state"),
            user=row.get("user"),
            query=str(row.get("query") or ""),
        )
        for row in rows or []
    ]


def terminate_long_queries(
    gateway: Gateway, settings: DatabaseSettings, pod: str, older_than_seconds: float
) -> list[int]:
    """End those queries (`pg_terminate_backend`); the pids actually ended. [] in a dry run."""
    sql = _TERMINATE.format(secs=_seconds(older_than_seconds))
    rows = _run(gateway, settings, pod, sql, mutating=True)
    return [int(row["pid"]) for row in rows or [] if row.get("terminated")]


def promote(gateway: Gateway, settings: DatabaseSettings, pod: str) -> bool:
    """Promote the standby in `pod` to primary and wait for it; False only in a dry run."""
    rows = _run(gateway, settings, pod, _PROMOTE, mutating=True)
    if rows is None:
        return False
    if not rows or rows[0].get("promoted") is not True:
        raise TargetError(f"PostgreSQL in pod {pod} did not finish its promotion within 60 s")
    return True


def _seconds(value: float) -> str:
    if isinstance(value, bool) or not math.isfinite(float(value)) or float(value) < 0:
        raise InputError(f"older_than_seconds must be a finite number >= 0, got {value!r}")
    return repr(float(value))


def _run(
    gateway: Gateway, settings: DatabaseSettings, pod: str, sql: str, *, mutating: bool
) -> list[dict[str, Any]] | None:
    result = gateway.exec(
        pod, psql_command(settings, sql), container=settings.container, mutating=mutating
    )
    if result is None:
        return None
    if result.exit_code is None:
        raise TargetError(f"psql in pod {pod} ended without an exit status")
    if result.exit_code != 0:
        first = (result.stderr.strip().splitlines() or ["no error output"])[0]
        raise TargetError(f"psql in pod {pod} exited with {result.exit_code}: {first}")
    try:
        rows = json.loads(result.stdout.strip() or "[]")
    except ValueError:
        raise TargetError(f"psql in pod {pod} printed something that is not JSON") from None
    if not isinstance(rows, list):
        raise TargetError(f"psql in pod {pod} printed {type(rows).__name__}, expected a list")
    return [row for row in rows if isinstance(row, dict)]
