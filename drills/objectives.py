"""The runbook's objectives, and holding a drill's measurements against them.

The runbook states targets (RTO 15 min, RPO 5 min, MTTR < 30 min, p95 < 500 ms, errors < 1 %,
DB pool < 80 %, breakers CLOSED); a profile may override them. This module owns those numbers,
parses overrides strictly (a typo in a profile must not silently fall back to a default) and
reports each objective as threshold, measured value, margin and met.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields, replace

from drills.errors import InputError
from drills.models import Comparison, Measurements, ObjectiveResult, Phase

__all__ = [
    "OBJECTIVE_NAMES",
    "ObjectiveTargets",
    "evaluate",
    "parse_duration_seconds",
    "parse_fraction",
]

OBJECTIVE_NAMES = (
    "rto",
    "rpo",
    "mttr",
    "p95_steady",
    "error_rate_steady",
    "db_pool",
    "breakers_closed",
    "writes_corrupted",
)

_UNIT_SECONDS = {
    "ms": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}
_NUMBER = r"\d+(?:\.\d+)?|\.\d+"
_DURATION = re.compile(rf"(?:\s*(?:{_NUMBER})\s*[a-zA-Z]*)+\s*")
_PART = re.compile(rf"({_NUMBER})\s*([a-zA-Z]*)")


def parse_duration_seconds(text: str) -> float:
    """Seconds in a duration such as "900", "15m", "300s", "5 min", "1h 30m" or "500ms".

    A bare number is seconds. Raises ValueError (with the reason) for anything else.
    """
    if not _DURATION.fullmatch(text) or not text.strip():
        raise ValueError(f"{text!r} is not a duration (try '15m', '300s', '5 min')")
    parts = _PART.findall(text)
    total = 0.0
    for number, unit in parts:
        if not unit:
            if len(parts) > 1:
                raise ValueError(f"{text!r} mixes a bare number with units")
            return float(number)
        factor = _UNIT_SECONDS.get(unit.lower())
        if factor is None:
            raise ValueError(f"{text!r} has an unknown unit {unit!r} (use ms, s, m, min or h)")
        total += float(number) * factor
    return total


def parse_fraction(text: str) -> float:
    """A fraction from "1%" or "0.01". Raises ValueError for anything else."""
    stripped = text.strip()
    try:
        if stripped.endswith("%"):
            return float(stripped[:-1].strip()) / 100.0
        return float(stripped)
    except ValueError:
        raise ValueError(f"{text!r} is not a fraction (try '1%' or 0.01)") from None


@dataclass(frozen=True)
class ObjectiveTargets:
    """Thresholds from the runbook; each overridable per target profile."""

    rto_seconds: float = 900.0
    rpo_seconds: float = 300.0
    mttr_seconds: float = 1800.0
    p95_latency_seconds: float = 0.5
    error_rate: float = 0.01
    db_pool_utilisation: float = 0.8
    breakers_closed_after_recovery: bool = True

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> ObjectiveTargets:
        """The defaults with `data`'s overrides; unknown keys and bad values raise InputError."""
        known = {f.name for f in fields(cls)}
        changes: dict[str, float | bool] = {}
        for key, value in data.items():
            if key not in known:
                raise InputError(
                    f"objectives: unknown key {key!r} (known: {', '.join(sorted(known))})"
                )
            changes[key] = _parse_value(key, value)
        return replace(cls(), **changes)  # type: ignore[arg-type]  # values checked per key


def _parse_value(key: str, value: object) -> float | bool:
    if key == "breakers_closed_after_recovery":
        if not isinstance(value, bool):
            raise InputError(f"objectives: {key} must be true or false, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InputError(f"objectives: {key} must be a number, got {value!r}")
    try:
        if isinstance(value, str):
            number = (
                parse_duration_seconds(value) if key.endswith("_seconds") else parse_fraction(value)
            )
        else:
            number = float(value)
    except ValueError as exc:
        raise InputError(f"objectives: {key}: {exc}") from None
    if not math.isfinite(number) or number < 0:
        raise InputError(f"objectives: {key} must be a finite number >= 0, got {value!r}")
    if not key.endswith("_seconds") and number > 1:
        raise InputError(f"objectives: {key} is a fraction of 1 (e.g. 0.01 or '1%'), got {value!r}")
    return number


def _result(
    name: str,
    threshold: float,
    measured: float | None,
    comparison: Comparison,
    unit: str,
    *,
    required: bool,
    reason: str | None = None,
) -> ObjectiveResult:
    if measured is None:
        why = reason or "not measured"
        return ObjectiveResult(
            name, threshold, None, None, False if required else None, comparison, unit, why
        )
    if comparison is Comparison.AT_MOST:
        met = measured <= threshold
    elif comparison is Comparison.BELOW:
        met = measured < threshold
    else:
        met = measured == threshold
    return ObjectiveResult(
        name, threshold, measured, threshold - measured, met, comparison, unit, reason
    )


def evaluate(
    m: Measurements,
    targets: ObjectiveTargets,
    *,
    history_rto_seconds: Sequence[float] | None = None,
    required: Collection[str] = ("rto", "rpo"),
) -> tuple[ObjectiveResult, ...]:
    """Each objective this drill can speak to, in `OBJECTIVE_NAMES` order.

    A required objective that could not be measured is not met; any other unmeasured one has
    met None; objectives with no input at all (no history, no pool figure) are left out unless
    required. `history_rto_seconds` are earlier runs' RTOs (this run's is added for MTTR).
    """
    unknown = sorted(set(required) - set(OBJECTIVE_NAMES))
    if unknown:
        raise InputError(f"objectives: unknown required objective(s): {', '.join(unknown)}")
    results: list[ObjectiveResult] = []

    def add(
        name: str,
        threshold: float,
        present: bool,
        measured: float | None,
        comparison: Comparison,
        unit: str,
        reason: str | None,
    ) -> None:
        is_required = name in required
        if present or is_required:
            why = reason if present else "no input for this objective was collected"
            results.append(
                _result(
                    name, threshold, measured, comparison, unit, required=is_required, reason=why
                )
            )

    def why(field: str) -> str | None:
        return m.unmeasured.get(field)

    add(
        "rto", targets.rto_seconds, True, m.rto_seconds, Comparison.AT_MOST, "s", why("rto_seconds")
    )
    add(
        "rpo", targets.rpo_seconds, True, m.rpo_seconds, Comparison.AT_MOST, "s", why("rpo_seconds")
    )

    rtos = list(history_rto_seconds or ())
    if m.rto_seconds is not None:
        rtos.append(m.rto_seconds)
    mttr = statistics.fmean(rtos) if rtos else None
    mttr_why = f"mean of {len(rtos)} measured recoveries" if rtos else "no measured recoveries yet"
    add("mttr", targets.mttr_seconds, bool(rtos), mttr, Comparison.BELOW, "s", mttr_why)

    steady = m.phases.get(Phase.STEADY)
    steady_why = why(f"phases.{Phase.STEADY.value}") or "no steady-state phase"
    p95_measured = None if steady is None else steady.p95_latency_seconds
    p95_why = steady_why if steady is None else why("phases.steady.p95_latency_seconds")
    add(
        "p95_steady",
        targets.p95_latency_seconds,
        steady is not None,
        p95_measured,
        Comparison.BELOW,
        "s",
        p95_why,
    )
    rate_measured = None if steady is None else steady.error_rate
    rate_why = steady_why if steady is None else why("phases.steady.error_rate")
    add(
        "error_rate_steady",
        targets.error_rate,
        steady is not None,
        rate_measured,
        Comparison.BELOW,
        "ratio",
        rate_why,
    )

    pool_present, pool, pool_why = _extra(m, "db_pool_peak_utilisation")
    add(
        "db_pool",
        targets.db_pool_utilisation,
        pool_present,
        pool,
        Comparison.BELOW,
        "ratio",
        pool_why,
    )
    if targets.breakers_closed_after_recovery:
        open_present, open_count, open_why = _extra(m, "breakers_open_after_recovery")
        add("breakers_closed", 0.0, open_present, open_count, Comparison.EQUALS, "count", open_why)
    # Integrity has no tolerance: an acknowledged record that comes back altered is a defect.
    corrupted = None if m.writes_corrupted is None else float(m.writes_corrupted)
    add(
        "writes_corrupted",
        0.0,
        m.writes_corrupted is not None,
        corrupted,
        Comparison.EQUALS,
        "count",
        why("writes_corrupted"),
    )
    return tuple(results)


def _extra(m: Measurements, key: str) -> tuple[bool, float | None, str | None]:
    """Whether `m.extra` has `key`, its value as a number, and why it is not one."""
    if key not in m.extra:
        return False, None, None
    value = m.extra[key]
    if value is None:
        return True, None, m.unmeasured.get(key)
    if isinstance(value, str):
        return True, None, f"{key} is not a number: {value!r}"
    return True, float(value), None
