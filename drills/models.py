"""The data a drill produces, as frozen dataclasses.

Times inside a run are floats of seconds on the run's `RunClock` (monotonic, anchored once to UTC);
they become ISO-8601 UTC strings only at the JSON edge. Durations are named `*_seconds`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

SCHEMA = "drills.report/v1"


class Verdict(StrEnum):
    """What a drill proved.

    `invalid` means the fault never produced a detectable failure: such a drill proves nothing and
    never counts as met.
    """

    MET = "met"
    MISSED = "missed"
    INVALID = "invalid"
    ABORTED = "aborted"


class RunStatus(StrEnum):
    """How the run itself went, independent of the objectives."""

    COMPLETED = "completed"
    FAILED = "failed"  # an activity of the method failed, or steady state was not met before
    ABORTED = "aborted"  # interrupted (signal, timeout guard) or refused


class Phase(StrEnum):
    """Phases of a drill, for per-phase error rate and latency of probe traffic.

    steady: before `fault_at`; fault: from `fault_at` until the first activity of the method after
    the fault activities starts (the recovery); recovery: from there until `recovered_at`;
    after: from `recovered_at` to the end.
    """

    STEADY = "steady"
    FAULT = "fault"
    RECOVERY = "recovery"
    AFTER = "after"


class Stage(StrEnum):
    """Where in the Chaos Toolkit experiment an activity ran."""

    HYPOTHESIS_BEFORE = "steady-state-before"
    METHOD = "method"
    HYPOTHESIS_AFTER = "steady-state-after"
    ROLLBACK = "rollback"


FAULT_TAG = "fault"


@dataclass(frozen=True)
class Sample:
    """One observation of one signal: sent at run time `t`, its outcome known at `known`.

    The two differ when a check hangs: a probe sent into a frozen server is answered (or times
    out) long after it was sent, and only the later instant says anything about the server.
    `known` is None for samples that have no send (a state read from a watch): then it is `t`.
    """

    t: float
    signal: str
    ok: bool
    latency_seconds: float | None = None
    critical: bool = True
    detail: str | None = None
    known: float | None = None

    @property
    def known_at(self) -> float:
        """When the outcome was known (the answer, the error or the timeout)."""
        return self.t if self.known is None else self.known

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "sample",
            "t": round(self.t, 6),
            "signal": self.signal,
            "ok": self.ok,
            "latency_seconds": None
            if self.latency_seconds is None
            else round(self.latency_seconds, 6),
            "critical": self.critical,
            "detail": self.detail,
            "known": None if self.known is None else round(self.known, 6),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Sample:
        known = d.get("known")
        return cls(
            t=float(d["t"]),
            signal=str(d["signal"]),
            ok=bool(d["ok"]),
            latency_seconds=d.get("latency_seconds"),
            critical=bool(d.get("critical", True)),
            detail=d.get("detail"),
            known=None if known is None else float(known),
        )


@dataclass(frozen=True)
class ActivityMark:
    """Start and end of one Chaos Toolkit activity, in run time."""

    name: str
    kind: str  # "action" | "probe"
    stage: Stage
    start: float
    end: float | None = None
    tags: tuple[str, ...] = ()
    status: str | None = None  # chaoslib's run status: "succeeded" | "failed" | ...

    @property
    def is_fault(self) -> bool:
        return FAULT_TAG in self.tags

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "activity",
            "name": self.name,
            "kind": self.kind,
            "stage": self.stage.value,
            "start": round(self.start, 6),
            "end": None if self.end is None else round(self.end, 6),
            "tags": list(self.tags),
            "status": self.status,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ActivityMark:
        return cls(
            name=str(d["name"]),
            kind=str(d.get("kind", "action")),
            stage=Stage(d.get("stage", Stage.METHOD.value)),
            start=float(d["start"]),
            end=None if d.get("end") is None else float(d["end"]),
            tags=tuple(d.get("tags") or ()),
            status=d.get("status"),
        )


@dataclass(frozen=True)
class AckedWrite:
    """A canary write the target acknowledged: `sent_t` is the record's own timestamp."""

    seq: int
    sent_t: float
    ack_t: float
    checksum: str


PRIMARY_STORE = "postgres"  # the store the canary's `readback` is read from


@dataclass(frozen=True)
class StoreReadback:
    """The canary read back from one more store the service writes every record to (the graph
    store: `neo4j`): seq -> checksum, or None with the reason it could not be read."""

    store: str
    readback: dict[int, str] | None
    error: str | None = None


@dataclass(frozen=True)
class CanaryLog:
    """What the canary wrote and what the verifier read back after recovery.

    `readback` maps seq -> checksum recomputed from the record as read back from the primary
    store (PostgreSQL); None when the read-back could not be done (then `readback_error` says
    why). `stores` holds the read-backs of the other stores every record is also written to
    (empty when the service has only PostgreSQL). `skipped` counts the ticks at
    which every sender was still busy (an overloaded target): writes never attempted.
    `failed_sent` holds the send times of the failed writes (refused, timed out, unanswered),
    for the report's canary lane; empty when they were not recorded.
    """

    acked: tuple[AckedWrite, ...]
    failed: int
    readback: dict[int, str] | None
    readback_error: str | None = None
    interval_seconds: float | None = None
    skipped: int = 0
    failed_sent: tuple[float, ...] = ()
    stores: tuple[StoreReadback, ...] = ()


@dataclass(frozen=True)
class PhaseStats:
    """Probe traffic of one phase: how much, how much failed, how slow (p95)."""

    phase: Phase
    requests: int
    errors: int
    error_rate: float | None
    p95_latency_seconds: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "p95_latency_seconds": self.p95_latency_seconds,
        }


@dataclass(frozen=True)
class StoreLoss:
    """What one store lost of the canary's acknowledged writes (None: see `unmeasured`)."""

    writes_lost: int | None
    writes_lost_after_fault: int | None
    writes_corrupted: int | None
    rpo_seconds: float | None
    unmeasured: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "writes_lost": self.writes_lost,
            "writes_lost_after_fault": self.writes_lost_after_fault,
            "writes_corrupted": self.writes_corrupted,
            "rpo_seconds": None if self.rpo_seconds is None else round(self.rpo_seconds, 6),
            "unmeasured": dict(self.unmeasured),
        }


@dataclass(frozen=True)
class Measurements:
    """Every number a drill measures; None with a reason in `unmeasured` when not measurable.

    With more than one store (`stores`, by name: postgres, neo4j) the top-level loss figures are
    the worst of the stores', each figure on its own, so the objectives judge the worst store."""

    fault_at: float | None
    detected_at: float | None
    recovered_at: float | None
    rto_seconds: float | None
    time_to_detect_seconds: float | None
    downtime_seconds: float | None
    rpo_seconds: float | None
    writes_acknowledged: int | None
    writes_failed: int | None
    writes_lost: int | None
    writes_lost_after_fault: int | None
    writes_corrupted: int | None
    resolution_seconds: float | None
    phases: dict[Phase, PhaseStats] = field(default_factory=dict)
    unmeasured: dict[str, str] = field(default_factory=dict)
    extra: dict[str, float | int | str | None] = field(default_factory=dict)
    stores: dict[str, StoreLoss] = field(default_factory=dict)


class Comparison(StrEnum):
    """How a measured value is held against its threshold."""

    AT_MOST = "<="
    BELOW = "<"
    EQUALS = "=="


@dataclass(frozen=True)
class ObjectiveResult:
    """One objective: threshold, measured value, margin (threshold - measured), met."""

    name: str
    threshold: float
    measured: float | None
    margin: float | None
    met: bool | None  # None: could not be measured
    comparison: Comparison = Comparison.AT_MOST
    unit: str = "s"
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "threshold": self.threshold,
            "measured": self.measured,
            "margin": self.margin,
            "met": self.met,
            "comparison": self.comparison.value,
            "unit": self.unit,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DrillRef:
    """Which drill ran: the scenario name, its title and the experiment file."""

    scenario: str
    title: str
    experiment_path: str


@dataclass(frozen=True)
class TargetRef:
    """Which target was drilled (never its secrets)."""

    name: str
    kind: str
    address: str | None = None


@dataclass(frozen=True)
class DrillResult:
    """A finished run: everything the reports and the history need, nothing they must compute."""

    run_id: str
    drill: DrillRef
    target: TargetRef
    anchor_utc: str
    started_at: float
    ended_at: float
    status: RunStatus
    verdict: Verdict
    verdict_reason: str
    measurements: Measurements
    objectives: tuple[ObjectiveResult, ...]
    activities: tuple[ActivityMark, ...]
    notes: tuple[str, ...] = ()
