"""On a Kubernetes target: the cluster's own view of the drill, merged into the measurement.

Pod Ready transitions of the control plane come from a watch, stamped with the cluster's own
`lastTransitionTime`, and join the timeline as the critical signal `pods-ready:control-plane`, so
recovery on Kubernetes is timed as exactly as the cluster's clock allows. After the run, the
cluster's events and the components' logs of the drill window are written to `cluster.json` in
the run folder.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from drills.clock import RunClock
from drills.errors import DrillError
from drills.models import Sample
from drills.targets.base import Component

logger = logging.getLogger("drills")

CLUSTER_FILE = "cluster.json"


class ClusterTarget(Protocol):
    """What this module needs of the Kubernetes driver."""

    def readiness_samples(
        self, component: Component, clock: RunClock, *, timeout_seconds: float, should_stop: Any
    ) -> Any: ...

    def drill_window(
        self, since: datetime, until: datetime, log_lines: int = 200
    ) -> dict[str, Any]: ...


class ClusterWatch:
    """Start with the measurement, stop before it concludes."""

    def __init__(
        self,
        target: ClusterTarget,
        clock: RunClock,
        record: Any,
        *,
        component: Component = Component.CONTROL_PLANE,
        max_seconds: float = 3600.0,
    ) -> None:
        self._target = target
        self._clock = clock
        self._record = record
        self._component = component
        self._max = max_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, name="drills-cluster-watch", daemon=True
        )
        self.error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def _watch(self) -> None:
        try:
            for sample in self._target.readiness_samples(
                self._component,
                self._clock,
                timeout_seconds=self._max,
                should_stop=self._stop.is_set,
            ):
                if isinstance(sample, Sample):
                    self._record(sample)
        except DrillError as exc:
            self.error = f"pod readiness watch stopped: {exc}"
            logger.warning(self.error)

    def stop(self, run_dir: Path, since: float, until: float) -> Path | None:
        """End the watch; write the drill window's events and logs. None when they could not be read."""
        self._stop.set()
        self._thread.join(timeout=5.0)
        try:
            window = self._target.drill_window(self._clock.to_utc(since), self._clock.to_utc(until))
        except DrillError as exc:
            logger.warning("cluster events and logs not collected: %s", exc)
            return None
        path = run_dir / CLUSTER_FILE
        path.write_text(json.dumps(window, indent=2, default=str))
        return path
