"""A measurement session: the sampler, the canary and the activity marks of one drill.

It owns the run clock and the run folder's `timeline.jsonl` and `canary.jsonl`. The Chaos Toolkit
control (`drills.control`) feeds it activity boundaries; whoever started it stops it and gets a
`SessionData` back, from which `drills.outcome` computes the result.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from drills.canary import CanaryWriter, verify
from drills.clock import RunClock
from drills.controlplane.connection import Endpoint
from drills.models import ActivityMark, CanaryLog, Sample, Stage
from drills.poolwatch import PoolWatch
from drills.sampler import Sampler
from drills.targets.base import SignalKind, Target
from drills.timeline import JsonlAppender

TIMELINE_FILE = "timeline.jsonl"
CANARY_FILE = "canary.jsonl"


@dataclass
class LiveView:
    """What a progress display shows: latest health per signal, stage, current activity."""

    health: dict[str, bool] = field(default_factory=dict)
    stage: Stage | None = None
    activity: str | None = None
    fault_at: float | None = None
    note: str | None = None  # overrides the stage label (baseline, observing after)


@dataclass(frozen=True)
class SessionData:
    """Everything measured, ready for `drills.measure.compute`."""

    clock: RunClock
    started_at: float
    ended_at: float
    samples: tuple[Sample, ...]
    activities: tuple[ActivityMark, ...]
    canary: CanaryLog | None
    pool_readings: tuple[tuple[float, float], ...] = ()  # (t, in_use / capacity)


class MeasurementSession:
    """Start before the experiment, mark activities during it, stop after its rollbacks."""

    def __init__(
        self,
        target: Target,
        run_dir: Path,
        run_id: str,
        *,
        clock: RunClock | None = None,
        sample_interval_seconds: float = 0.1,
        canary_rate: float = 100.0,
        canary: bool = True,
        on_sample: Callable[[Sample], None] | None = None,
    ) -> None:
        self.target = target
        self.run_dir = run_dir
        self.run_id = run_id
        self.clock = clock or RunClock()
        self.view = LiveView()
        self._timeline = JsonlAppender(run_dir / TIMELINE_FILE)
        self._samples: list[Sample] = []
        self._marks: dict[str, ActivityMark] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._on_sample = on_sample
        self._sampler = Sampler(
            target.signals(),
            self.clock,
            self._record_sample,
            interval_seconds=sample_interval_seconds,
        )
        self.canary: CanaryWriter | None = None
        if canary:
            self.canary = CanaryWriter(
                Endpoint.of(target),
                f"drill-{run_id}",
                self.clock,
                run_dir / CANARY_FILE,
                rate=canary_rate,
            )
        # stores the service writes every canary record to besides PostgreSQL (its graph store)
        self._stores = tuple(s.name for s in target.signals() if s.kind is SignalKind.GRAPH)
        self._pool = PoolWatch(Endpoint.of(target), self.clock)
        self.started_at: float | None = None

    def start(self) -> None:
        self.started_at = self.clock.now()
        self._timeline.append(
            {
                "type": "run",
                "run_id": self.run_id,
                "target": self.target.name,
                **self.clock.to_json(),
            }
        )
        self._sampler.start()
        self._pool.start()
        if self.canary is not None:
            self.canary.start()

    def record_sample(self, sample: Sample) -> None:
        """Add a sample taken elsewhere (the cluster's pod readiness) to the timeline."""
        self._record_sample(sample)

    def _record_sample(self, sample: Sample) -> None:
        self._timeline.append(sample.to_json())
        with self._lock:
            self._samples.append(sample)
            self.view.health[sample.signal] = sample.ok
        if self._on_sample is not None:
            self._on_sample(sample)

    def set_stage(self, stage: Stage) -> None:
        self.view.stage = stage

    def activity_started(self, name: str, kind: str, stage: Stage, tags: tuple[str, ...]) -> str:
        key = str(next(self._ids))
        mark = ActivityMark(name=name, kind=kind, stage=stage, start=self.clock.now(), tags=tags)
        with self._lock:
            self._marks[key] = mark
        if mark.is_fault and stage is Stage.METHOD and self.view.fault_at is None:
            self.view.fault_at = mark.start
        self.view.activity = name
        self._timeline.append({**mark.to_json(), "type": "activity-start", "id": key})
        return key

    def activity_ended(
        self,
        key: str,
        status: str | None,
        *,
        ran_from: datetime | None = None,
        ran_until: datetime | None = None,
    ) -> None:
        """Close an activity's mark. `ran_from`/`ran_until` are the activity's own start and end
        as Chaos Toolkit recorded them: the control's hooks also enclose the activity's pauses
        (`pauses.before` is not fault time), so within the hooks' span those times win."""
        end = self.clock.now()
        with self._lock:
            mark = self._marks.get(key)
            if mark is None:
                return
            start = _within(ran_from, self.clock, mark.start, end, mark.start)
            end = _within(ran_until, self.clock, start, end, end)
            self._marks[key] = ActivityMark(
                mark.name, mark.kind, mark.stage, start, end, mark.tags, status
            )
        self.view.activity = None
        if self.view.fault_at == mark.start:
            self.view.fault_at = start
        self._timeline.append(
            {
                "type": "activity-end",
                "id": key,
                "start": round(start, 6),
                "end": round(end, 6),
                "status": status,
            }
        )

    def add_activity(self, mark: ActivityMark) -> None:
        """Add an activity that ran outside Chaos Toolkit, with its own times (a game day's
        trainee command, run in another process); before `stop`."""
        key = str(next(self._ids))
        with self._lock:
            self._marks[key] = mark
        self._timeline.append({**mark.to_json(), "type": "activity-start", "id": key})
        self._timeline.append(
            {
                "type": "activity-end",
                "id": key,
                "start": round(mark.start, 6),
                "end": None if mark.end is None else round(mark.end, 6),
                "status": mark.status,
            }
        )

    def write_problems(self) -> list[str]:
        """What could not be written to the run folder (a full disk): notes for the report."""
        problems = [self._timeline.problem()]
        if self.canary is not None:
            problems.append(self.canary.journal_problem())
        return [problem for problem in problems if problem]

    def stop(self, *, verify_canary: bool = True) -> SessionData:
        """Stop writing and sampling, read the canary back, close the files."""
        canary_log: CanaryLog | None = None
        if self.canary is not None:
            self.canary.stop()
        ended = self.clock.now()
        self._sampler.stop()
        pool_readings = self._pool.stop()
        if self.canary is not None:
            if verify_canary:
                canary_log = verify(
                    Endpoint.of(self.target),
                    self.canary.stream,
                    self.canary.acked(),
                    self.canary.counters.failed,
                    self.canary.interval_seconds,
                    self._stores,
                )
                canary_log = replace(
                    canary_log,
                    skipped=self.canary.counters.skipped,
                    failed_sent=self.canary.failed_sent(),
                )
            else:
                canary_log = CanaryLog(
                    self.canary.acked(),
                    self.canary.counters.failed,
                    None,
                    "the drill was aborted before the canary could be read back",
                    self.canary.interval_seconds,
                    self.canary.counters.skipped,
                    self.canary.failed_sent(),
                )
        self._timeline.close()
        with self._lock:
            samples = tuple(sorted(self._samples, key=lambda s: s.t))
            marks = tuple(sorted(self._marks.values(), key=lambda m: m.start))
        return SessionData(
            clock=self.clock,
            started_at=self.started_at or 0.0,
            ended_at=ended,
            samples=samples,
            activities=marks,
            canary=canary_log,
            pool_readings=pool_readings,
        )


def _within(
    instant: datetime | None, clock: RunClock, low: float, high: float, default: float
) -> float:
    """`instant` on the run clock when it falls inside [low, high] (the wall clock agrees with
    the monotonic one), else `default`."""
    if instant is None:
        return default
    t = clock.from_utc(instant)
    return t if low <= t <= high else default
