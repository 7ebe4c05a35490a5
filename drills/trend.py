"""A scenario's trend: its recent runs, its objectives and the baseline the gate would use now.

`drills trend` shows the slow drift a single gate decision cannot: RTO, time to detect and RPO over
the last runs on one kind of target, with the objective lines, the band of the current baseline
(the runs the next `drills gate` compares with) and the runs that proved nothing (invalid,
aborted) marked instead of silently dropped. The renderers live in `drills.reports.trend`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from statistics import median

from drills.errors import InputError
from drills.gate import GatePolicy, baseline_for
from drills.history import History, HistoryRun

__all__ = ["SERIES", "Band", "Series", "Trend", "build_trend", "history_position"]


@dataclass(frozen=True)
class Series:
    """One metric drawn over the runs."""

    key: str
    label: str
    column: str  # HistoryRun attribute
    objective: str | None  # the objective's name in a stored report


SERIES = (
    Series("rto", "RTO", "rto_seconds", "rto"),
    Series("ttd", "time to detect", "ttd_seconds", None),
    Series("rpo", "RPO", "rpo_seconds", "rpo"),
)


@dataclass(frozen=True)
class Band:
    """The current baseline of one metric: median and range."""

    low: float
    median: float
    high: float


@dataclass(frozen=True)
class Trend:
    scenario: str
    target_kind: str
    runs: tuple[HistoryRun, ...]  # oldest first
    latest_invocation: str
    baseline_ids: frozenset[str]
    baseline_note: str
    objectives: dict[str, float]  # series key -> threshold (seconds)
    bands: dict[str, Band]  # series key -> band

    def values(self, series: Series) -> list[float | None]:
        return [getattr(run, series.column) for run in self.runs]


def _objectives(runs: list[HistoryRun]) -> dict[str, float]:
    """Thresholds from the newest stored report that has them."""
    for run in reversed(runs):
        report = run.report()
        if not report:
            continue
        thresholds = {o.get("name"): o.get("threshold") for o in report.get("objectives") or []}
        found = {
            s.key: float(thresholds[s.objective])
            for s in SERIES
            if s.objective and isinstance(thresholds.get(s.objective), int | float)
        }
        if found:
            return found
    return {}


def build_trend(history: History, scenario: str, limit: int = 50) -> Trend:
    """The last `limit` runs of `scenario` on the target kind of its newest run."""
    latest = history.latest_invocation(scenario)
    if not latest:
        raise InputError(f"no run of scenario {scenario!r} in history {history.where}")
    kind = latest[0].target_kind
    recent = [r for r in history.runs(scenario, limit=limit * 4) if r.target_kind == kind]
    runs = list(reversed(recent[:limit]))
    baseline, note, _ = baseline_for(history, scenario, latest, GatePolicy())
    bands: dict[str, Band] = {}
    for series in SERIES:
        values = [v for r in baseline if (v := getattr(r, series.column)) is not None]
        if values:
            bands[series.key] = Band(min(values), median(values), max(values))
    return Trend(
        scenario=scenario,
        target_kind=kind,
        runs=tuple(runs),
        latest_invocation=latest[0].invocation_id,
        baseline_ids=frozenset(r.run_id for r in baseline),
        baseline_note=note,
        objectives=_objectives(runs),
        bands=bands,
    )


def history_position(
    history: History,
    scenario: str,
    target_kind: str,
    started: datetime,
    rto_seconds: float | None,
    runs: int = 10,
) -> str | None:
    """Where a run's RTO sits among the newest earlier met runs (a note for its reports)."""
    earlier = history.met_runs_before(scenario, target_kind, started, runs)
    rtos = sorted(r.rto_seconds for r in earlier if r.rto_seconds is not None)
    if rto_seconds is None or not rtos:
        return None
    slower_than = sum(v < rto_seconds for v in rtos)
    return (
        f"against its history: RTO {rto_seconds:.3f} s; the {len(rtos)} newest earlier met"
        f" run(s) on {target_kind} had median {median(rtos):.3f} s"
        f" ({rtos[0]:.3f}-{rtos[-1]:.3f} s): slower than {slower_than} of them"
    )
