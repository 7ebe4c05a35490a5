"""The CI gate: does a scenario's newest invocation pass, fail, or leave the question open?

A drill that met its objectives can still be a regression: RTO going from 1.5 s to 6 s against a
15 min objective is exactly the slow drift an objective-only check hides. For each scenario the
gate takes the runs of its newest invocation (`drills run --repeat N`) and
  - fails on any run whose verdict is not `met` (missed objective, invalid or aborted run);
  - compares each metric with a baseline of earlier met runs of the same scenario on the same
    kind of target (the newest N, or runs a person pinned, or only runs since a reset) and fails
    on a regression that is both statistically significant (the exact one-sided rank test of
    `drills.ranktest`, at a stated false-alarm rate alpha per scenario and metric) and large
    enough to matter (a relative AND an absolute minimum effect on the medians);
  - fails when acknowledged writes are lost and the baseline lost none, whatever the test says;
  - says "cannot decide" (never a silent pass) when a metric moved by more than the minimum
    effect but the runs are too few for any outcome to be significant: with n baseline and m new
    runs the smallest possible p-value is 1 / C(n + m, m) (5 and 4: 1/126 = 0.0079, below 1 %;
    4 and 4: 1/70);
  - with no baseline yet judges the objectives only, and says so.
A pipeline writing to a shared team history names its own invocation (`drills run --invocation`,
`drills gate --invocation`): the newest one may be another pipeline's or a CronJob's.
This module decides; `drills.reports.gate` renders; the CLI maps the decision to an exit code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from math import comb, inf
from statistics import median
from typing import Any

from drills.errors import InputError
from drills.history import BaselineMark, History, HistoryRun
from drills.models import Verdict
from drills.ranktest import min_p_value, rank_test

__all__ = [
    "METRICS",
    "Decision",
    "GatePolicy",
    "GateResult",
    "Metric",
    "MetricCheck",
    "RunCheck",
    "ScenarioGate",
    "baseline_for",
    "gate",
    "judge_scenario",
]


class Decision(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNDECIDED = "cannot decide"
    NOT_MEASURED = "not measured"
    NO_BASELINE = "no baseline"  # nothing to compare with yet: the objectives alone decide


@dataclass(frozen=True)
class Metric:
    """A number the gate compares; lower is better for all of them."""

    key: str
    label: str
    unit: str  # "s" or "writes"
    column: str  # the HistoryRun attribute
    absolute_floor: float  # the smallest shift of the median that matters

    def value(self, run: HistoryRun) -> float | None:
        raw = getattr(run, self.column)
        return None if raw is None else float(raw)


METRICS = (
    Metric("rto", "RTO", "s", "rto_seconds", 0.5),
    Metric("ttd", "time to detect", "s", "ttd_seconds", 0.2),
    Metric("downtime", "downtime", "s", "downtime_seconds", 0.5),
    Metric("p95_fault", "p95 latency under fault", "s", "p95_fault_seconds", 0.05),
    Metric("writes_lost", "writes lost", "writes", "writes_lost", 1.0),
    Metric("rpo", "RPO", "s", "rpo_seconds", 0.5),
)
_BY_KEY = {m.key: m for m in METRICS}


@dataclass(frozen=True)
class GatePolicy:
    """How the gate decides: false-alarm rate per scenario and metric, minimum effects, and the
    size of the rolling baseline."""

    alpha: float = 0.01
    min_relative: float = 0.2
    min_absolute: Mapping[str, float] = field(default_factory=dict)  # metric key -> floor
    baseline_runs: int = 10

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise InputError(f"--alpha must be between 0 and 1, got {self.alpha}")
        if self.min_relative < 0:
            raise InputError(f"--min-relative must be >= 0, got {self.min_relative}")
        if self.baseline_runs < 1:
            raise InputError(f"--baseline-runs must be >= 1, got {self.baseline_runs}")
        for key, floor in self.min_absolute.items():
            if key not in _BY_KEY:
                known = ", ".join(_BY_KEY)
                raise InputError(f"--min-absolute: unknown metric {key!r} (known: {known})")
            if floor < 0:
                raise InputError(f"--min-absolute {key} must be >= 0, got {floor}")

    def floor(self, metric: Metric) -> float:
        return self.min_absolute.get(metric.key, metric.absolute_floor)

    def to_json(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "min_relative": self.min_relative,
            "min_absolute": {m.key: self.floor(m) for m in METRICS},
            "baseline_runs": self.baseline_runs,
        }


@dataclass(frozen=True)
class MetricCheck:
    metric: Metric
    baseline: tuple[float, ...]
    new: tuple[float, ...]
    decision: Decision
    why: str
    p_value: float | None = None
    min_p_value: float | None = None
    shift: float | None = None  # median(new) - median(baseline)
    relative: float | None = None  # shift / median(baseline)


@dataclass(frozen=True)
class RunCheck:
    run: HistoryRun
    decision: Decision
    why: str


@dataclass(frozen=True)
class ScenarioGate:
    scenario: str
    target_kind: str
    invocation_id: str
    new_runs: tuple[HistoryRun, ...]
    baseline_runs: tuple[HistoryRun, ...]
    baseline_note: str
    mark: BaselineMark | None
    runs: tuple[RunCheck, ...]
    metrics: tuple[MetricCheck, ...]

    @property
    def decision(self) -> Decision:
        decisions = [c.decision for c in self.runs] + [c.decision for c in self.metrics]
        if Decision.FAIL in decisions:
            return Decision.FAIL
        if Decision.UNDECIDED in decisions:
            return Decision.UNDECIDED
        return Decision.PASS

    def reasons(self) -> list[str]:
        """Why it failed (or could not decide), one line each."""
        worst = self.decision
        lines = [f"run {c.run.run_id}: {c.why}" for c in self.runs if c.decision is worst]
        lines += [f"{c.metric.label}: {c.why}" for c in self.metrics if c.decision is worst]
        return lines


@dataclass(frozen=True)
class GateResult:
    policy: GatePolicy
    scenarios: tuple[ScenarioGate, ...]

    @property
    def decision(self) -> Decision:
        decisions = [s.decision for s in self.scenarios]
        if Decision.FAIL in decisions:
            return Decision.FAIL
        if Decision.UNDECIDED in decisions or not decisions:
            return Decision.UNDECIDED
        return Decision.PASS


def _fmt(value: float, unit: str) -> str:
    return f"{value:.3f} s" if unit == "s" else f"{value:g} {unit}"


def _runs_needed(n_baseline: int, alpha: float) -> int:
    """The fewest new runs that could be significant against `n_baseline` runs."""
    m = 1
    while 1 / comb(n_baseline + m, m) > alpha and m < 1000:
        m += 1
    return m


def judge_metric(
    metric: Metric, baseline: Sequence[float], new: Sequence[float], policy: GatePolicy
) -> MetricCheck:
    """The decision for one metric of one scenario, with a sentence saying why."""
    base, fresh = tuple(baseline), tuple(new)
    if not fresh:
        if not base:
            return MetricCheck(metric, base, fresh, Decision.NOT_MEASURED, "measured by no run")
        return MetricCheck(
            metric, base, fresh, Decision.UNDECIDED, "the baseline measured it, the new runs not"
        )
    if not base:
        return MetricCheck(
            metric, base, fresh, Decision.NO_BASELINE, "no baseline values: objectives only"
        )
    if metric.key == "writes_lost" and max(base) == 0 and max(fresh) > 0:
        lost = int(sum(fresh))
        why = f"{lost} acknowledged write(s) lost where the baseline ({len(base)} runs) lost none"
        return MetricCheck(metric, base, fresh, Decision.FAIL, why)
    before, after = median(base), median(fresh)
    shift = after - before
    relative = shift / before if before > 0 else (inf if shift > 0 else 0.0)
    floor = policy.floor(metric)
    change = f"median {_fmt(before, metric.unit)} -> {_fmt(after, metric.unit)}"
    if shift > 0:
        change += f" (+{_fmt(shift, metric.unit)}" + (
            f", +{relative:.0%})" if relative != inf else ")"
        )
    if shift <= 0:
        why = f"{change}: no slower than the baseline"
        return MetricCheck(metric, base, fresh, Decision.PASS, why, shift=shift, relative=relative)
    if shift < floor or relative < policy.min_relative:
        why = (
            f"{change}: below the minimum effect (+{_fmt(floor, metric.unit)} and"
            f" +{policy.min_relative:.0%})"
        )
        return MetricCheck(metric, base, fresh, Decision.PASS, why, shift=shift, relative=relative)
    smallest = min_p_value(len(base), len(fresh))
    if smallest > policy.alpha:
        needed = _runs_needed(len(base), policy.alpha)
        why = (
            f"{change}, but {len(base)} baseline and {len(fresh)} new runs cannot show it:"
            f" the smallest possible p is {smallest:.3g} > alpha {policy.alpha:g}"
            f" (needs {needed} new runs against {len(base)})"
        )
        return MetricCheck(
            metric, base, fresh, Decision.UNDECIDED, why, None, smallest, shift, relative
        )
    test = rank_test(base, fresh)
    if test.p_value <= policy.alpha:
        decision = Decision.FAIL
        why = f"regression: {change}; p = {test.p_value:.3g} <= alpha {policy.alpha:g}"
    else:
        decision = Decision.PASS
        why = f"{change}, not significant: p = {test.p_value:.3g} > alpha {policy.alpha:g}"
    return MetricCheck(metric, base, fresh, decision, why, test.p_value, smallest, shift, relative)


def _run_check(run: HistoryRun) -> RunCheck:
    if run.verdict is Verdict.MET:
        return RunCheck(run, Decision.PASS, "met its objectives")
    reason = run.verdict_reason or "no reason recorded"
    what = {
        Verdict.MISSED: "missed an objective",
        Verdict.INVALID: "invalid (proves nothing, never a pass)",
        Verdict.ABORTED: "aborted (proves nothing, never a pass)",
    }[run.verdict]
    return RunCheck(run, Decision.FAIL, f"{what}: {reason}")


def baseline_for(
    history: History, scenario: str, new: Sequence[HistoryRun], policy: GatePolicy
) -> tuple[list[HistoryRun], str, BaselineMark | None]:
    """The runs `new` is compared with, a sentence saying which, and the mark that chose them."""
    kind, invocation = new[0].target_kind, new[0].invocation_id
    first = min(r.started_at for r in new)
    mark = history.latest_mark(scenario)
    if mark is not None and mark.action == "pin":
        new_ids = {r.run_id for r in new}
        pinned = [
            r
            for r in history.runs_by_id(mark.run_ids)
            if r.target_kind == kind and r.run_id not in new_ids
        ]
        note = f"{len(pinned)} pinned run(s), pinned {mark.at:%Y-%m-%d %H:%M} UTC: {mark.reason}"
        return pinned, note, mark
    since = mark.at if mark is not None else None
    runs = history.met_runs_before(
        scenario, kind, first, policy.baseline_runs, since=since, exclude_invocation=invocation
    )
    note = f"the {len(runs)} newest met run(s) on {kind} before this invocation"
    if mark is not None:
        note += f", since a reset on {mark.at:%Y-%m-%d %H:%M} UTC: {mark.reason}"
    if not runs:
        note = f"no baseline yet (no earlier met run on {kind}"
        note += f" since the reset: {mark.reason})" if mark is not None else ")"
        note += ": objectives only"
    return runs, note, mark


def judge_scenario(
    history: History, scenario: str, policy: GatePolicy, invocation: str | None = None
) -> ScenarioGate:
    """The gate's decision for `scenario`'s newest invocation, or for its runs of `invocation`
    (a pipeline's own, in a history other pipelines and CronJobs also write)."""
    if invocation is None:
        new = history.latest_invocation(scenario)
        if not new:
            raise InputError(f"no run of scenario {scenario!r} in history {history.where}")
    else:
        new = history.invocation_runs(invocation, scenario)
        if not new:
            raise InputError(
                f"no run of scenario {scenario!r} in invocation {invocation!r}"
                f" in history {history.where}"
            )
    baseline, note, mark = baseline_for(history, scenario, new, policy)
    measured = [r for r in new if r.verdict in (Verdict.MET, Verdict.MISSED)]
    checks = []
    for metric in METRICS:
        base = [v for r in baseline if (v := metric.value(r)) is not None]
        fresh = [v for r in measured if (v := metric.value(r)) is not None]
        checks.append(judge_metric(metric, base, fresh, policy))
    return ScenarioGate(
        scenario=scenario,
        target_kind=new[0].target_kind,
        invocation_id=new[0].invocation_id,
        new_runs=tuple(new),
        baseline_runs=tuple(baseline),
        baseline_note=note,
        mark=mark,
        runs=tuple(_run_check(r) for r in new),
        metrics=tuple(checks),
    )


def gate(
    history: History, scenarios: Sequence[str], policy: GatePolicy, invocation: str | None = None
) -> GateResult:
    """Judge `scenarios` (when empty: every scenario in the history, or every scenario with
    runs of `invocation`)."""
    names = list(scenarios)
    if not names and invocation is None:
        names = history.scenarios()
    elif not names and invocation is not None:
        names = sorted({r.scenario for r in history.invocation_runs(invocation)})
        if not names:
            raise InputError(f"no run of invocation {invocation!r} in history {history.where}")
    judged = (judge_scenario(history, name, policy, invocation) for name in names)
    return GateResult(policy, tuple(judged))
