"""Drill results as Prometheus series, where SRE teams already look (Prometheus, then Grafana).

After a run: `drills_rto_seconds`, `drills_rpo_seconds`, `drills_writes_lost`, `drills_verdict`
(one series per verdict, 1 for the run's) and `drills_last_run_timestamp_seconds`, labelled by
`scenario` and `target`. After `drills due`: `drills_overdue` (1 when overdue),
`drills_due_timestamp_seconds` and `drills_last_proven_run_timestamp_seconds`, labelled by
`scenario` and `cadence`. A value that could not be measured is NaN, so it replaces the previous
run's figure instead of leaving it standing.

Two ways out, both through prometheus_client: a node-exporter textfile (written atomically; series
of other scenarios already in the file are kept, so drills can share one file) and a Pushgateway
(one group per scenario and target, replaced on each push).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, push_to_gateway, write_to_textfile
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from drills.cadence import DueDrill, DueState
from drills.clock import RunClock
from drills.errors import DrillError, ExitCode, InputError
from drills.models import DrillResult, Verdict

__all__ = [
    "DUE_SERIES",
    "PUSH_JOB",
    "RUN_SERIES",
    "MetricsError",
    "Point",
    "due_points",
    "export_points",
    "push",
    "run_points",
    "validate_gateway_url",
    "write_textfile",
]

PUSH_JOB = "drills"

RUN_SERIES: dict[str, str] = {
    "drills_rto_seconds": "Recovery time of the last drill: fault to recovery (NaN: not measured).",
    "drills_rpo_seconds": "Data loss window of the last drill: span of acknowledged writes lost.",
    "drills_writes_lost": "Acknowledged canary writes lost in the last drill.",
    "drills_verdict": "Verdict of the last drill: 1 for the verdict it had, 0 for the others.",
    "drills_last_run_timestamp_seconds": "When the last drill ended (Unix time).",
}

DUE_SERIES: dict[str, str] = {
    "drills_overdue": "1 when the drill is overdue by the runbook's cadence, else 0.",
    "drills_due_timestamp_seconds": "When the drill is next due (Unix time).",
    "drills_last_proven_run_timestamp_seconds": "Last run that proved something (Unix time).",
}

_IDENTITY_EXCLUDES = frozenset({"verdict"})  # one drill's verdict series replace each other


class MetricsError(DrillError):
    """Results could not be written as metrics or pushed."""

    exit_code = ExitCode.ABORTED


@dataclass(frozen=True)
class Point:
    """One sample of one series."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float

    @property
    def identity(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """What a newer point replaces: same series, same labels (any verdict)."""
        return self.name, tuple(kv for kv in self.labels if kv[0] not in _IDENTITY_EXCLUDES)


def _number(value: float | int | None) -> float:
    return math.nan if value is None else float(value)


def _ended_at(result: DrillResult) -> datetime:
    anchor = datetime.fromisoformat(result.anchor_utc)
    return RunClock(anchor_utc=anchor, anchor_monotonic_ns=0).to_utc(result.ended_at)


def run_points(result: DrillResult) -> list[Point]:
    """The five series of one finished run."""
    labels = (("scenario", result.drill.scenario), ("target", result.target.name))
    m = result.measurements
    points = [
        Point("drills_rto_seconds", labels, _number(m.rto_seconds)),
        Point("drills_rpo_seconds", labels, _number(m.rpo_seconds)),
        Point("drills_writes_lost", labels, _number(m.writes_lost)),
    ]
    points += [
        Point("drills_verdict", (*labels, ("verdict", v.value)), float(v is result.verdict))
        for v in Verdict
    ]
    points.append(Point("drills_last_run_timestamp_seconds", labels, _ended_at(result).timestamp()))
    return points


def due_points(rows: Iterable[DueDrill]) -> list[Point]:
    """Overdue flag, due time and last proven run of each drill of the cadence."""
    points: list[Point] = []
    for row in rows:
        labels = (("scenario", row.scenario), ("cadence", row.cadence))
        overdue = float(row.state is DueState.OVERDUE)
        due = math.nan if row.due_at is None else row.due_at.timestamp()
        last = math.nan if row.last_run is None else row.last_run.timestamp()
        points += [
            Point("drills_overdue", labels, overdue),
            Point("drills_due_timestamp_seconds", labels, due),
            Point("drills_last_proven_run_timestamp_seconds", labels, last),
        ]
    return points


class _Points(Collector):
    """A fixed set of points, collected as gauge families."""

    def __init__(self, points: Sequence[Point], docs: dict[str, str]) -> None:
        self._points = points
        self._docs = docs

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for p in self._points:
            family = families.get(p.name)
            if family is None:
                doc = self._docs.get(p.name, p.name)
                family = families[p.name] = Metric(p.name, doc, "gauge")
            family.add_sample(p.name, dict(p.labels), p.value)
        yield from families.values()


def _registry(points: Sequence[Point], docs: dict[str, str]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Points(points, docs))
    return registry


def _existing(path: Path) -> tuple[list[Point], dict[str, str]]:
    """The `drills_*` points already in a textfile, and their help texts."""
    if not path.exists():
        return [], {}
    try:
        text = path.read_text(encoding="utf-8")
        families = list(text_string_to_metric_families(text))
    except (OSError, ValueError) as exc:
        raise MetricsError(f"cannot read the metrics textfile {path}: {exc}") from exc
    points: list[Point] = []
    docs: dict[str, str] = {}
    for family in families:
        if not family.name.startswith("drills_"):
            continue
        docs[family.name] = family.documentation
        for s in family.samples:
            points.append(Point(s.name, tuple(sorted(s.labels.items())), s.value))
    return points, docs


def write_textfile(path: Path, points: Sequence[Point]) -> None:
    """Write `points` into a node-exporter textfile atomically (temporary file, rename); the
    `drills_*` series of other drills already in the file are kept."""
    old, docs = _existing(path)
    new = [Point(p.name, tuple(sorted(p.labels)), p.value) for p in points]
    replaced = {p.identity for p in new}
    kept = [p for p in old if p.identity not in replaced]
    merged = sorted([*kept, *new], key=lambda p: (p.name, p.labels))
    try:
        write_to_textfile(str(path), _registry(merged, {**docs, **RUN_SERIES, **DUE_SERIES}))
    except OSError as exc:
        raise MetricsError(f"cannot write the metrics textfile {path}: {exc}") from exc


def validate_gateway_url(url: str) -> str:
    """`url` when it is an http(s) URL with a host, else an `InputError`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--pushgateway needs an http:// or https:// URL, not {url!r}")
    return url.rstrip("/")


def push(gateway: str, result: DrillResult, *, timeout_seconds: float = 10.0) -> None:
    """Push one run's series to a Pushgateway, replacing its (scenario, target) group."""
    grouping = {"scenario": result.drill.scenario, "target": result.target.name}
    try:
        push_to_gateway(
            gateway,
            job=PUSH_JOB,
            registry=_registry(run_points(result), RUN_SERIES),
            grouping_key=grouping,
            timeout=timeout_seconds,
        )
    except OSError as exc:  # URLError and HTTPError are OSErrors
        raise MetricsError(f"cannot push metrics to {gateway}: {exc}") from exc


def export_points(
    results: Sequence[DrillResult], textfile: Path | None, gateway: str | None
) -> None:
    """Every run of `results` into the textfile and/or to the Pushgateway (each when given)."""
    if textfile is not None:
        write_textfile(textfile, [p for r in results for p in run_points(r)])
    if gateway is not None:
        for result in results:
            push(gateway, result)
