"""`./scripts/dr/*.sh` in the training shell: the runbook's DR scripts, as the sandbox's real
operations.

Each script the runbook names maps to the action or probe a drill uses for the same step (the
runbook coverage table, `drills.runbook.activities`, says the same), with the runbook's arguments
(`--backup-id`, `--target-time`, also `--point-in-time`). Scripts that would inject a fault (the
runbook's test commands) are refused during a game day; Neo4j's restore is refused where the
target has no graph store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from chaoslib.exceptions import ActivityFailed

from drills.targets.registry import CONFIG_KEY
from drills.training.output import Out, ShimFailure

__all__ = ["SCRIPTS", "parse_time", "run_script"]

_PLACEHOLDER = "BACKUP_ID"


def _flag(args: Sequence[str], *names: str) -> str | None:
    """The value of `--name VALUE` or `--name=VALUE` (the last one given)."""
    found: str | None = None
    for index, word in enumerate(args):
        for name in names:
            if word == name and index + 1 < len(args):
                found = args[index + 1]
            elif word.startswith(f"{name}="):
                found = word.split("=", 1)[1]
    return found


def parse_time(text: str) -> str:
    """The runbook's `"2024-01-15 10:00:00"` (UTC, as the runbook keeps time) or any ISO-8601
    time, as ISO-8601 with a zone."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ShimFailure(
            f'--target-time {text!r} is not a time (write it as "YYYY-MM-DD HH:MM:SS", UTC)'
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def _backup_id(args: Sequence[str]) -> str | None:
    given = _flag(args, "--backup-id")
    if given == _PLACEHOLDER:
        raise ShimFailure(
            f"{_PLACEHOLDER} is the runbook's placeholder: use an id that "
            "./scripts/dr/list-backups.sh printed"
        )
    return given


def _show(out: Out, value: Any) -> None:
    out.say(json.dumps(value, indent=2, default=str))


def _verify_backups(args: Sequence[str], config: dict[str, Any], out: Out) -> int:
    from drills.probes.database import backup_freshness

    status = backup_freshness(configuration=config)
    _show(out, {k: v for k, v in status.items() if not k.startswith("drills")})
    return 0 if status.get("met") else 1


def _list_backups(args: Sequence[str], config: dict[str, Any], out: Out) -> int:
    from drills.probes.database import list_backups

    for component in ("postgres", "redis"):
        out.say(f"# {component}")
        for backup in list_backups(component, configuration=config):
            out.say(
                f"{backup['backup_id']}  taken {backup['taken_at']}  "
                f"({backup['age_seconds']:.0f} s ago, {backup['size_bytes']} bytes)"
            )
    return 0


def _verify_integrity(args: Sequence[str], config: dict[str, Any], out: Out) -> int:
    from drills.actions.database import NEWEST, verify_backup

    _show(out, verify_backup(_backup_id(args) or NEWEST, configuration=config))
    return 0


def _integrity_check(args: Sequence[str], config: dict[str, Any], out: Out) -> int:
    from drills.probes.database import integrity_check, last_known_good_time

    report = integrity_check(configuration=config)
    _show(out, report)
    if report["ok"]:
        out.say("integrity check passed: no corrupt rows")
        return 0
    good = last_known_good_time(configuration=config)
    out.say(f"integrity check FAILED: {report['corrupt_rows']} corrupt rows")
    if good is not None:
        out.say(f"last known good state: {good} (just before the oldest corrupt commit)")
    return 1


def _restore_postgres(args: Sequence[str], config: dict[str, Any], out: Out) -> int:
    from drills.actions.database import restore_point_in_time

    when = _flag(args, "--target-time", "--point-in-time")
    if when is None:
        raise ShimFailure(
            'restore-postgresql.sh needs --target-time "YYYY-MM-DD HH:MM:SS" (UTC): '
            "the point to restore to"
        )
    if _backup_id(args) is not None:
        out.note("the base backup is chosen for the target time (the newest one before it)")
    _show(out, restore_point_in_time(parse_time(when), configuration=config))
    return 0


def _restore_redis(args: Sequence[str], config: dict[str, Any], out: Out) -> int:
    from drills.actions.database import restore_redis_snapshot

    _show(out, restore_redis_snapshot(_backup_id(args), configuration=config))
    return 0


def _restore_neo4j(args: Sequence[str], config: dict[str, Any], out: Out) -> int:
    """The graph store back to one snapshot (without --backup-id: the newest taken before the
    last known good time of PostgreSQL's data, as the drill does)."""
    from drills.actions.graph import LAST_KNOWN_GOOD, restore_graph_snapshot

    _show(out, restore_graph_snapshot(_backup_id(args) or LAST_KNOWN_GOOD, configuration=config))
    return 0


def _validate(args: Sequence[str], config: dict[str, Any], out: Out) -> int:
    from drills.actions.database import validate_restored_data

    _show(out, validate_restored_data(configuration=config))
    out.say("restored data validated: no corrupt rows")
    return 0


def _readiness(args: Sequence[str], config: dict[str, Any], out: Out) -> int:
    from drills.probes.http import circuit_breakers_closed, graphql_health_check, health_ok

    checks = {
        "GET /health": health_ok,
        "GraphQL { healthCheck }": graphql_health_check,
        "every circuit breaker CLOSED": circuit_breakers_closed,
    }
    failed = 0
    for label, check in checks.items():
        passed = bool(check(configuration=config))
        failed += not passed
        out.say(f"{'PASS' if passed else 'FAIL'}  {label}")
    out.say("production readiness: " + ("READY" if not failed else f"NOT READY ({failed} failed)"))
    return 1 if failed else 0


def _refused(why: str) -> Callable[[Sequence[str], dict[str, Any], Out], int]:
    def run(args: Sequence[str], config: dict[str, Any], out: Out) -> int:
        raise ShimFailure(why)

    return run


_FAULT = "injects a fault of its own: not available during a game day"
SCRIPTS: dict[str, Callable[[Sequence[str], dict[str, Any], Out], int]] = {
    "verify-backups.sh": _verify_backups,
    "list-backups.sh": _list_backups,
    "verify-backup-integrity.sh": _verify_integrity,
    "database-integrity-check.sh": _integrity_check,
    "check-data-consistency.sh": _integrity_check,
    "restore-postgresql.sh": _restore_postgres,
    "restore-postgres.sh": _restore_postgres,
    "restore-redis.sh": _restore_redis,
    "restore-neo4j.sh": _restore_neo4j,
    "validate-restored-data.sh": _validate,
    "production-readiness-check.sh": _readiness,
    "test-backup-restore.sh": _refused(_FAULT),
    "simulate-database-failure.sh": _refused(_FAULT),
    "test-circuit-breakers.sh": _refused(_FAULT),
    "test-monitoring-alerts.sh": _refused(_FAULT),
}
SCRIPT_FOLDERS = {"production-readiness-check.sh": "scripts/ops"}  # else scripts/dr


def run_script(name: str, args: Sequence[str], target_key: str, out: Out) -> int:
    """Run one of the runbook's scripts on the target; its exit status."""
    script = SCRIPTS.get(name)
    if script is None:
        raise ShimFailure(f"{name} is not one of the runbook's scripts")
    try:
        return script(args, {CONFIG_KEY: target_key}, out)
    except ActivityFailed as exc:
        raise ShimFailure(f"{name}: {exc}") from exc
