"""On a Kubernetes target: the cluster's own view of the drill, merged into the measurement.

Pod readiness of the control plane is known only by its changes (a watch). Like every other
signal, it must be *sampled on a schedule*: `measure.recovery` needs `sustain` healthy samples
after the last failure, and a signal that spoke only on change rarely had them (RTO "not
measured"). So the watch keeps the current state, and a second thread emits it as the critical
signal `pods-ready:control-plane` at start + k x interval, the sampler's schedule, and once more
at the instant the watch delivers a change of it. Each change itself, stamped with the cluster's
`lastTransitionTime`, joins the timeline too as evidence
(`pod-events:control-plane`, not critical: a pod event after the service answered again must not
move the recovery instant). The signal is healthy while at least one pod is Ready: a component
with no Ready pod is down; one with fewer than its replicas is degraded but answering, and
recovery is when the target answers again (DESIGN.md), not when the last pod is back (the
detail keeps "1/2 ready"). After the run, the cluster's events and the components' logs of the
drill window are written to `cluster.json` in the run folder.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from drills.clock import RunClock
from drills.errors import DrillError
from drills.models import Sample
from drills.targets.base import ClusterEvents, Component

logger = logging.getLogger("drills")

CLUSTER_FILE = "cluster.json"
EVENTS_PREFIX = "pod-events:"


class ClusterWatch:
    """Start with the measurement, stop before it concludes."""

    def __init__(
        self,
        target: ClusterEvents,
        clock: RunClock,
        record: Any,
        *,
        component: Component = Component.CONTROL_PLANE,
        max_seconds: float = 3600.0,
        interval_seconds: float = 0.1,
    ) -> None:
        self._target = target
        self._clock = clock
        self._record = record
        self._component = component
        self._max = max_seconds
        self._stop = threading.Event()
        self._interval = interval_seconds
        self._state: Sample | None = None  # the last known readiness, held between events
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._watch, name="drills-cluster-watch", daemon=True
        )
        self._ticker = threading.Thread(
            target=self._tick, name="drills-cluster-readiness", daemon=True
        )
        self.error: str | None = None

    def start(self) -> None:
        self._thread.start()
        self._ticker.start()

    def _watch(self) -> None:
        try:
            for change in self._target.readiness_samples(
                self._component,
                self._clock,
                timeout_seconds=self._max,
                should_stop=self._stop.is_set,
                required=1,
            ):
                if not isinstance(change, Sample):
                    continue
                known = self._clock.now()
                with self._lock:
                    previous, self._state = self._state, change
                evidence = EVENTS_PREFIX + change.signal.partition(":")[2]
                self._record(Sample(change.t, evidence, change.ok, None, False, change.detail))
                if previous is not None and previous.ok != change.ok:
                    # A change is a sample of its own, at the instant the watch delivered it:
                    # waiting for the next tick would date every recovery up to an interval late.
                    self._record(
                        Sample(
                            known, change.signal, change.ok, None, change.critical, change.detail
                        )
                    )
        except DrillError as exc:
            self.error = f"pod readiness watch stopped: {exc}"
            logger.warning(self.error)
        with self._lock:  # a dead watch knows nothing: sample that, not a stale "ready"
            if self._state is not None:
                self._state = replace(self._state, ok=False, detail=self.error or "watch ended")

    def _tick(self) -> None:
        """The held state, on the sampler's schedule (skipped ticks are not bunched)."""
        start = self._clock.now()
        tick = 0
        while not self._stop.is_set():
            now = self._clock.now()
            with self._lock:
                state = self._state
            if state is not None:
                self._record(
                    Sample(now, state.signal, state.ok, None, state.critical, state.detail)
                )
            tick = max(tick + 1, int((self._clock.now() - start) / self._interval) + 1)
            self._stop.wait(max(0.0, start + tick * self._interval - self._clock.now()))

    def stop(self, run_dir: Path, since: float, until: float) -> Path | None:
        """End the watch; write the drill window's events and logs. None when they could not be read."""
        self._stop.set()
        self._thread.join(timeout=5.0)
        self._ticker.join(timeout=5.0)
        try:
            window = self._target.drill_window(self._clock.to_utc(since), self._clock.to_utc(until))
        except DrillError as exc:
            logger.warning("cluster events and logs not collected: %s", exc)
            return None
        path = run_dir / CLUSTER_FILE
        path.write_text(json.dumps(window, indent=2, default=str))
        return path
