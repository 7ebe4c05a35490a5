"""The life of one measured drill on an open target, the same under `drills run` and `chaos run`.

DESIGN.md's safety rules hold whichever way a drill is started: one drill per target at a time
(the target's drill lock, held from before the first check to after the run folder is written);
a drill still down at twice its RTO objective is ended (the watchdog: chaoslib stops the method
on SIGUSR1 and still runs the rollbacks); on Kubernetes the cluster's own view (pod readiness,
events, logs) joins the measurement; Ctrl-C and SIGTERM while the run folder is written are noted,
not raised, so what was measured is kept. `drills run` (`drills.runner`) drives a `DrillLifecycle`
around its call into chaoslib, and `drills train start` (`drills.training.game`) around a game
day's (without the watchdog: the exercise's time limit ends it); under a plain `chaos run` the
measurement control (`drills.control`, through `drills.standalone`) drives the same object from
chaoslib's hooks.

When the target has monitoring, `finish` reads which alerts fired during the drill from its
Prometheus (`drills.monitoring.observed`) for the report's alerts section.

The stages, in order: `lock`, (`preflight`), `start`, `baseline`, the experiment,
`experiment_ended`, `observe_after`, `finish` (or `abandon`), `release`.
"""

from __future__ import annotations

import contextlib
import os
import secrets as token
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drills.clusterwatch import ClusterWatch
from drills.controlplane.connection import Endpoint
from drills.controlplane.health import steady
from drills.errors import UnsafeTargetError
from drills.interrupts import deferred_interrupts
from drills.models import DrillRef, Stage, TargetRef
from drills.monitoring.observed import observe_alerts
from drills.objectives import ObjectiveTargets
from drills.outcome import Conclusion, conclude
from drills.session import MeasurementSession
from drills.settings import Settings
from drills.targets.base import ClusterEvents, Target
from drills.targets.profiles import profile_objectives
from drills.targets.registry import SpecKind, TargetSpec

__all__ = [
    "DrillLifecycle",
    "new_run_id",
    "objectives_for",
]

PREFLIGHT_SECONDS = 30.0
INTERRUPTED = "interrupted (Ctrl-C or SIGTERM); rollbacks ran"


def new_run_id(scenario: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{scenario}-{stamp}-{token.token_hex(2)}"


def objectives_for(spec: TargetSpec) -> ObjectiveTargets:
    """The objectives a drill on `spec` is held to: the profile's overrides of the runbook's."""
    if spec.kind is SpecKind.PROFILE and spec.path is not None:
        return ObjectiveTargets.from_mapping(profile_objectives(spec.path))
    return ObjectiveTargets()


class DrillLifecycle:
    """One drill on an open target: its lock, measurement, watchdog, cluster watch and end."""

    def __init__(
        self,
        target: Target,
        settings: Settings,
        objectives: ObjectiveTargets,
        *,
        run_id: str,
        run_dir: Path,
        watchdog: bool = True,
    ) -> None:
        """`watchdog`: end the drill still down at twice its RTO objective (a game day's own
        time limit ends it instead)."""
        self.target = target
        self.settings = settings
        self.objectives = objectives
        self.run_id = run_id
        self.run_dir = run_dir
        self.session: MeasurementSession | None = None
        self.interrupted_while_finishing = False  # Ctrl-C or SIGTERM while the folder was written
        self._held = contextlib.ExitStack()
        self._watch = watchdog
        self._watchdog: Watchdog | None = None
        self._cluster: ClusterWatch | None = None

    def lock(self) -> None:
        """Take the target's drill lock until `release` (refused when another drill holds it)."""
        self._held.enter_context(self.target.drill_lock())

    def release(self) -> None:
        self._held.close()

    def preflight(self, timeout_seconds: float = PREFLIGHT_SECONDS) -> None:
        """The target must answer and be healthy before any fault (else: refused, exit 3).

        A certificate the harness does not trust is raised at once (`ServiceTlsError`, exit 2):
        waiting cannot fix it, and it is not the target being down.
        """
        endpoint = Endpoint.of(self.target)
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if steady(endpoint, 1.0):
                return
            time.sleep(0.25)
        raise UnsafeTargetError(
            f"target {self.target.name} is not healthy (GET /health, GraphQL healthCheck): "
            "steady state must hold before any fault"
        )

    def start(self) -> MeasurementSession:
        """Start measuring (sampler, canary, pool), the cluster watch and the watchdog."""
        session = MeasurementSession(
            self.target,
            self.run_dir,
            self.run_id,
            sample_interval_seconds=self.settings.sample_interval_seconds,
            canary_rate=self.settings.canary_rate,
        )
        if isinstance(self.target, ClusterEvents):
            self._cluster = ClusterWatch(
                self.target,
                session.clock,
                session.record_sample,
                interval_seconds=self.settings.sample_interval_seconds,
            )
        self.session = session
        session.start()
        if self._cluster is not None:
            self._cluster.start()
        if self._watch:
            self._watchdog = Watchdog(session, 2 * self.objectives.rto_seconds)
            self._watchdog.start()
        return session

    def baseline(self) -> None:
        """The steady-state baseline before the experiment (a KeyboardInterrupt passes through)."""
        view = self._session().view
        view.note = "measuring the steady-state baseline"
        try:
            time.sleep(self.settings.baseline_seconds)
        finally:
            view.note = None

    def experiment_ended(self) -> None:
        """The watchdog signals only while the experiment runs."""
        if self._watchdog is not None:
            self._watchdog.stop()

    def observe_after(self) -> str | None:
        """Samples after the experiment, so the recovery is seen to hold; why it was cut short."""
        self._session().view.note = "observing after the experiment"
        try:
            time.sleep(self.settings.observe_after_seconds)
        except KeyboardInterrupt:
            return "interrupted (Ctrl-C or SIGTERM) while observing the aftermath"
        return None

    @property
    def watchdog_fired(self) -> bool:
        return self._watchdog is not None and self._watchdog.fired

    def aborted_reason(self, journal: dict[str, Any], reason: str | None) -> str | None:
        """Why the drill was aborted, if it was: the watchdog, else `reason`, else chaoslib's
        own handling of an interrupt."""
        if self.watchdog_fired:
            return (
                f"aborted: not recovered within twice the RTO objective "
                f"({2 * self.objectives.rto_seconds:.0f} s); rollbacks ran"
            )
        if reason is None and journal.get("status") == "interrupted":
            return INTERRUPTED
        return reason

    def finish(
        self,
        journal: dict[str, Any],
        *,
        drill: DrillRef,
        target: TargetRef,
        aborted_reason: str | None = None,
        invocation_id: str | None = None,
        say: Callable[[str], None] | None = None,
    ) -> Conclusion:
        """Stop measuring, read the canary back, conclude: verdict, run folder, history.
        Interrupts wait until the run folder is written."""
        session = self._session()
        self.experiment_ended()
        with deferred_interrupts() as received:
            if say is not None:
                say("Reading the canary back ...")
            data = session.stop()
            notes: list[str] = session.write_problems()
            if self._cluster is not None:
                notes.extend(self._stop_cluster(data.started_at, data.ended_at))
            alerts = observe_alerts(
                self.target, data.clock.to_utc(data.started_at), data.clock.to_utc(data.ended_at)
            )
            conclusion = conclude(
                data,
                journal,
                run_id=self.run_id,
                drill=drill,
                target=target,
                run_dir=self.run_dir,
                history_path=self.settings.history_location,
                objectives=self.objectives,
                aborted_reason=self.aborted_reason(journal, aborted_reason),
                notes=notes,
                invocation_id=invocation_id,
                alerts=alerts,
            )
        self.interrupted_while_finishing = bool(received)
        return conclusion

    def abandon(self) -> None:
        """Stop everything without concluding (the harness itself failed)."""
        self.experiment_ended()
        if self.session is not None:
            self.session.stop(verify_canary=False)

    def _stop_cluster(self, since: float, until: float) -> list[str]:
        assert self._cluster is not None
        notes = []
        if self._cluster.stop(self.run_dir, since, until) is None:
            notes.append("the cluster's events and logs of the drill window could not be read")
        if self._cluster.error:
            notes.append(self._cluster.error)
        return notes

    def _session(self) -> MeasurementSession:
        if self.session is None:
            raise RuntimeError("the drill's measurement has not started")
        return self.session


class Watchdog:
    """Ends a drill that is still down at twice its RTO objective (rollbacks still run)."""

    def __init__(self, session: MeasurementSession, limit_seconds: float) -> None:
        self._session = session
        self._limit = limit_seconds
        self._stop = threading.Event()
        self.fired = False
        self._thread = threading.Thread(target=self._loop, name="drills-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            fault_at = self._session.view.fault_at
            if fault_at is None or self._session.view.stage is not Stage.METHOD:
                continue  # chaoslib handles the signal only in the method; never in rollbacks
            healthy = all(self._session.view.health.copy().values())
            if not healthy and self._session.clock.now() - fault_at > self._limit:
                self.fired = True
                os.kill(os.getpid(), signal.SIGUSR1)  # chaoslib: stop now, keep rollbacks
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1.0)
