"""Human names for what a report shows: objectives and every measurement, including `extra` ones.

Measurements reported by activities arrive under machine keys (`db_pool_peak_utilisation`,
`postgres_breaker_close_seconds`, `flood_rate_limited`); a reader should see "Peak DB pool use"
and a value in its unit instead. Known keys have a written label; keys made from a component or
flood name follow known patterns; anything else is spelled out from its words, with the unit taken
from its suffix, so no raw key ever reaches a human-facing report. report.json keeps the keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Label:
    """What a measurement is called and the unit its value is in (`s`, `ratio`, `count`, ...)."""

    text: str
    unit: str


OBJECTIVE_LABELS: dict[str, str] = {
    "rto": "Recovery time (RTO)",
    "rpo": "Data loss window (RPO)",
    "mttr": "Mean time to recover (MTTR)",
    "p95_steady": "p95 latency, steady state",
    "error_rate_steady": "Error rate, steady state",
    "db_pool": "DB connection pool use, steady state",
    "breakers_closed": "Circuit breakers still open after recovery",
    "writes_corrupted": "Acknowledged writes corrupted",
}

MEASUREMENT_LABELS: dict[str, Label] = {
    "db_pool_peak_utilisation": Label("Peak DB pool use before the fault", "ratio"),
    "db_pool_peak_in_use": Label("Peak DB connections in use", "count"),
    "canary_writes_skipped": Label("Canary writes never sent (every sender busy)", "count"),
    "canary_rate_per_second": Label("Canary write rate", "writes/s"),
    "sustain_samples": Label("Healthy samples needed to call recovery", "count"),
    "breakers_open_after_recovery": Label("Circuit breakers open after recovery", "count"),
    "backup_age_seconds": Label("Age of the newest backup", "s"),
    "restorable_point_age_seconds": Label("Age of the newest restorable point", "s"),
    "rpo_exposure_seconds": Label("Data loss exposure of the backups", "s"),
    "promote_seconds": Label("Standby promotion", "s"),
    "failback_seconds": Label("Failback to the original primary", "s"),
    "pitr_restore_seconds": Label("Point-in-time restore (PostgreSQL)", "s"),
    "redis_restore_seconds": Label("Snapshot restore (Redis)", "s"),
    "graph_restore_seconds": Label("Snapshot restore (graph store, neo4j)", "s"),
    "restore_seconds": Label("Restore", "s"),
    "standby_rebuild_seconds": Label("Standby rebuild", "s"),
    "postgres_rebuild_seconds": Label("PostgreSQL rebuild", "s"),
    "standby_clone_seconds": Label("Standby clone", "s"),
    "rebuild_seconds": Label("Whole rebuild", "s"),
    "rows_corrupted_by_fault": Label("Rows corrupted by the fault", "count"),
    "rows_deleted_by_fault": Label("Rows deleted by the fault", "count"),
    "nodes_corrupted_by_fault": Label("Graph nodes corrupted by the fault", "count"),
    "nodes_deleted_by_fault": Label("Graph nodes deleted by the fault", "count"),
    "rows_verified": Label("Rows verified after the restore", "count"),
    "alerts_fired": Label("Alerts fired (target's monitoring)", "count"),
    "monitoring_ttd_seconds": Label("Time to detect by monitoring (first alert fired)", "s"),
}

# (pattern, label with {name}, unit): keys built from a component's or a flood's name
_PATTERNS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"(.+)_breaker_calls_until_open"), "{name} breaker: calls until open", "count"),
    (re.compile(r"(.+)_breaker_close_seconds"), "{name} breaker: time to close", "s"),
    (re.compile(r"(.+)_breaker_half_open_after_seconds"), "{name} breaker: half-open after", "s"),
    (re.compile(r"(.+)_breaker_open_seconds"), "{name} breaker: time open", "s"),
    (re.compile(r"(.+)_rate_limited"), "{name}: requests rate-limited", "count"),
    (re.compile(r"(.+)_denied"), "{name}: requests denied", "count"),
    (re.compile(r"(.+)_no_answer"), "{name}: requests with no answer", "count"),
    (re.compile(r"(.+)_requests"), "{name}: requests sent", "count"),
    (re.compile(r"alert_(.+)_pending_at"), "Alert {name}: pending", ""),
    (re.compile(r"alert_(.+)_firing_at"), "Alert {name}: fired", ""),
    (re.compile(r"alert_(.+)_resolved_at"), "Alert {name}: resolved", ""),
)

_ACRONYMS = {
    "api": "API",
    "db": "DB",
    "http": "HTTP",
    "pitr": "PITR",
    "rpo": "RPO",
    "rto": "RTO",
    "ttd": "TTD",
    "mttr": "MTTR",
    "wal": "WAL",
    "graphql": "GraphQL",
    "postgres": "PostgreSQL",
    "neo4j": "Neo4j",
    "redis": "Redis",
}

_SUFFIX_UNITS: tuple[tuple[str, str], ...] = (
    ("_seconds", "s"),
    ("_ratio", "ratio"),
    ("_utilisation", "ratio"),
    ("_utilization", "ratio"),
    ("_bytes", "bytes"),
)


def words(key: str) -> str:
    """A machine key spelled out: `db_pool_peak` -> `DB pool peak` (first word capitalised)."""
    parts = [_ACRONYMS.get(p.lower(), p) for p in re.split(r"[_\-.\s]+", key) if p]
    if not parts:
        return key
    first = parts[0]
    if first == first.lower():
        parts[0] = first[:1].upper() + first[1:]
    return " ".join(parts)


def objective_label(name: str) -> str:
    """The objective's human name; unknown names spelled out from their words."""
    return OBJECTIVE_LABELS.get(name) or words(name)


def measurement_label(key: str) -> Label:
    """The label and unit of a measurement key (known, patterned or spelled out)."""
    known = MEASUREMENT_LABELS.get(key)
    if known is not None:
        return known
    for pattern, text, unit in _PATTERNS:
        match = pattern.fullmatch(key)
        if match:
            return Label(text.format(name=words(match.group(1))), unit)
    for suffix, unit in _SUFFIX_UNITS:
        if key.endswith(suffix) and len(key) > len(suffix):
            return Label(words(key[: -len(suffix)]), unit)
    return Label(words(key), "")


FIELD_LABELS: dict[str, str] = {
    "fault_at": "Fault injected",
    "detected_at": "Failure detected",
    "recovered_at": "Recovered",
    "rto_seconds": "Recovery time (RTO)",
    "time_to_detect_seconds": "Time to detect (TTD)",
    "downtime_seconds": "Downtime",
    "rpo_seconds": "Data loss window (RPO)",
    "writes_acknowledged": "Writes acknowledged",
    "writes_failed": "Writes not acknowledged",
    "writes_lost": "Writes lost",
    "writes_lost_after_fault": "… of which acknowledged after the fault",
    "writes_corrupted": "Writes corrupted",
    "resolution_seconds": "Sampling resolution",
}

_PHASE_FIELDS = {
    "requests": "Probe requests",
    "errors": "Probe errors",
    "error_rate": "Error rate",
    "p95_latency_seconds": "p95 latency",
}


def field_label(key: str) -> str:
    """The name of a core measurement, a per-phase figure (`phases.steady.error_rate`) or an
    extra measurement, as the summary shows it."""
    if key in FIELD_LABELS:
        return FIELD_LABELS[key]
    parts = key.split(".")
    if parts[0] == "phases" and len(parts) in (2, 3):
        what = _PHASE_FIELDS.get(parts[2], words(parts[2])) if len(parts) == 3 else "Probe traffic"
        return f"{what}, {parts[1]} phase"
    return measurement_label(key).text
