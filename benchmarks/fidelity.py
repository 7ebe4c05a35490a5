"""Does the harness measure the truth? Every kind of outage, side by side, on a real sandbox.

For each kind the benchmark injects a fault whose truth it knows by other means, lets the
harness's sampler, canary and `drills.measure` measure it, and prints truth beside measurement:

- crash: every control-plane replica killed with SIGKILL, restarted after a known time;
- freeze: every control-plane replica stopped (SIGSTOP) and continued (SIGCONT) after a known
  time: a hang, whose probes wait in the frozen server's queue;
- blackhole: the service's path to PostgreSQL silently dropped, healed after a known time;
- PITR: a "corruption" instant, more acknowledged writes, then the control plane stopped, a
  point-in-time restore to the corruption instant, and the control plane started again: every
  acknowledged write committed after that instant is gone, by design.

The true recovery instant (DESIGN: "the instant the target answered again") comes from a
reference monitor independent of the sampler: threads asking `/health` back to back (every 10 ms, each from its own loopback address,
generous timeouts), whose earliest healthy answer after their last failed one is when the service
answered again, ~20 times finer than the sampler. For a freeze the thaw instant is printed too: a
thawed server first works through the requests queued while it was frozen (every client's, the
harness's included), so it answers again a little after the thaw, and that answer is the truth. The true lost writes are counted in PostgreSQL directly
(the canary's rows present after recovery, and for PITR the rows committed after the restore
point, read before the restore), never through the verifier being checked.

Budget (DESIGN.md): |measured - true RTO| <= one sampling interval for every kind, lost-write
counts exact, `rpo_seconds` > 0 whenever writes were lost.

    .venv/bin/python -m benchmarks.fidelity [--trials N]
"""

from __future__ import annotations

import argparse
import http.client
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from drills import measure
from drills.canary import CanaryWriter, verify
from drills.clock import RunClock
from drills.controlplane.connection import Endpoint
from drills.models import ActivityMark, Sample, Stage
from drills.sampler import Sampler
from drills.targets.base import Component, NetworkFault
from drills.targets.sandbox.driver import SandboxTarget

INTERVAL = 0.1
PROMPT_SECONDS = 0.5  # the sampler's probe timeout
OUTAGE_SECONDS = 2.0


class Reference:
    """An independent, dense monitor of /health: (answered_at, ok) from several threads."""

    def __init__(self, url: str, clock: RunClock, threads: int = 2, pause: float = 0.01) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._clock = clock
        self._pause = pause
        self._stop = threading.Event()
        self.answers: list[tuple[float, bool]] = []  # (answered at, healthy and prompt)
        self.details: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        # each thread from its own loopback address: the service limits requests per client, and
        # the harness's own probes and canary (from 127.0.0.1) must not be throttled by ours
        self._threads = [
            threading.Thread(target=self._loop, args=(f"127.0.0.{21 + i}",), daemon=True)
            for i in range(threads)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def _loop(self, source: str) -> None:
        while not self._stop.is_set():
            sent = self._clock.now()
            conn = http.client.HTTPConnection(
                self._host, self._port, timeout=10.0, source_address=(source, 0)
            )
            try:
                conn.request("GET", "/health")
                status = conn.getresponse().status
                detail = f"HTTP {status}"
            except (OSError, http.client.HTTPException) as exc:
                status, detail = 0, type(exc).__name__
            finally:
                conn.close()
            answered = self._clock.now()
            # an answer that took longer than the sampler's timeout is an outage to a user too
            ok = status == 200 and answered - sent <= PROMPT_SECONDS
            with self._lock:
                self.answers.append((answered, ok))
                if not ok:
                    self.details.append((answered, detail))
            self._stop.wait(self._pause)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=12.0)

    def recovered_at(self, fault: float) -> float | None:
        """The earliest healthy answer after the last failed one (answers after the fault)."""
        after = sorted(a for a in self.answers if a[0] >= fault)
        failed = [t for t, ok in after if not ok]
        if not failed:
            return None
        back = [t for t, ok in after if ok and t > max(failed)]
        return min(back) if back else None


@dataclass(frozen=True)
class Trial:
    kind: str
    true_rto: float | None
    measured_rto: float | None
    resolution: float
    true_lost: int
    measured_lost: int | None
    rpo_seconds: float | None
    thawed: float | None = None  # freeze only: the SIGCONT instant, relative to the fault
    why: str | None = None  # why RTO was not measured


def canary_rows(conninfo: str, stream: str) -> set[int]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        rows = conn.execute("SELECT seq FROM canary_records WHERE stream = %s", (stream,))
        return {int(seq) for (seq,) in rows}


def run_trial(
    target: SandboxTarget,
    kind: str,
    inject: Callable[[RunClock], float | None],
    lost_by_design: Callable[[RunClock, float], set[int]] | None = None,
) -> Trial:
    """Measure one outage. `inject` breaks and repairs the target, returning the true recovery
    instant when it knows it (a thaw), else None (the reference monitor decides)."""
    clock = RunClock()
    samples: list[Sample] = []
    lock = threading.Lock()

    def sink(sample: Sample) -> None:
        with lock:
            samples.append(sample)

    sampler = Sampler(target.signals(), clock, sink, interval_seconds=INTERVAL)
    reference = Reference(f"{target.control_plane_url}/health", clock)
    stream = f"fidelity-{kind}-{time.monotonic_ns()}"
    journal = Path(tempfile.mkdtemp(prefix="drills-fidelity-")) / "canary.jsonl"
    canary = CanaryWriter(Endpoint.of(target), stream, clock, journal)
    sampler.start()
    reference.start()
    canary.start()
    time.sleep(1.5)
    fault = clock.now()
    known_truth = inject(clock)
    time.sleep(3.0)
    canary.stop()
    sampler.stop()
    reference.stop()
    acked = canary.acked()
    stored = canary_rows(target.sandbox.postgres_conninfo(), stream)
    true_lost = sum(1 for w in acked if w.seq not in stored)
    log = verify(Endpoint.of(target), stream, acked, canary.counters.failed, INTERVAL)
    mark = ActivityMark(kind, "action", Stage.METHOD, fault, fault + 0.001, ("fault",))
    m = measure.compute(samples, [mark], log, started_at=0.0, ended_at=clock.now())
    truth_at = reference.recovered_at(fault)
    return Trial(
        kind,
        None if truth_at is None else truth_at - fault,
        m.rto_seconds,
        m.resolution_seconds or INTERVAL,
        true_lost,
        m.writes_lost,
        m.rpo_seconds,
        None if known_truth is None else known_truth - fault,
        m.unmeasured.get("rto_seconds"),
    )


def crash(target: SandboxTarget) -> Callable[[RunClock], float | None]:
    def inject(clock: RunClock) -> float | None:
        target.kill(Component.CONTROL_PLANE)
        time.sleep(OUTAGE_SECONDS)
        target.restart(Component.CONTROL_PLANE)
        return None

    return inject


def freeze(target: SandboxTarget) -> Callable[[RunClock], float | None]:
    def inject(clock: RunClock) -> float | None:
        target.freeze(Component.CONTROL_PLANE)
        time.sleep(OUTAGE_SECONDS)
        thawed = clock.now()
        target.thaw(Component.CONTROL_PLANE)
        return thawed

    return inject


def blackhole(target: SandboxTarget) -> Callable[[RunClock], float | None]:
    def inject(clock: RunClock) -> float | None:
        target.set_network_fault(Component.POSTGRES, NetworkFault.BLACKHOLE)
        time.sleep(OUTAGE_SECONDS)
        target.set_network_fault(Component.POSTGRES, NetworkFault.NONE)
        return None

    return inject


def pitr(target: SandboxTarget) -> Callable[[RunClock], float | None]:
    """The restore point is the fault instant; the writes acknowledged after it are lost."""

    def inject(clock: RunClock) -> float | None:
        restore_point = clock.to_utc(clock.now())
        time.sleep(1.5)  # acknowledged writes after the "corruption", which the restore discards
        replicas = target.replicas(Component.CONTROL_PLANE)
        target.scale(Component.CONTROL_PLANE, 0)
        target.restore_point_in_time(restore_point)
        target.scale(Component.CONTROL_PLANE, max(1, replicas))
        target.rebuild_standby()
        return None

    return inject


def report(trial: Trial) -> bool:
    if trial.true_rto is None or trial.measured_rto is None:
        rto = f"RTO true {trial.true_rto}, measured {trial.measured_rto} ({trial.why})"
        rto_ok = False
    else:
        error = trial.measured_rto - trial.true_rto
        intervals = abs(error) / trial.resolution
        rto_ok = intervals <= 1.0
        rto = (
            f"RTO true {trial.true_rto:6.3f} s, measured {trial.measured_rto:6.3f} s, "
            f"error {error:+.3f} s = {intervals:.2f} intervals of {trial.resolution:.3f} s"
        )
    lost_ok = trial.measured_lost == trial.true_lost
    rpo_ok = trial.true_lost == 0 or (trial.rpo_seconds or 0) > 0
    rpo = "null" if trial.rpo_seconds is None else f"{trial.rpo_seconds:.3f} s"
    verdict = "ok" if rto_ok and lost_ok and rpo_ok else "OUT OF BUDGET"
    if trial.thawed is not None:
        rto += f" (thawed at {trial.thawed:.3f} s)"
    print(
        f"  {trial.kind:9} {rto}; lost true {trial.true_lost}, measured {trial.measured_lost};"
        f" RPO {rpo}  {verdict}",
        flush=True,
    )
    return verdict == "ok"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2, help="trials of each kind (default 2)")
    args = parser.parse_args()
    state_dir = Path(tempfile.mkdtemp(prefix="drills-bench-fidelity-"))
    state_dir.chmod(0o711)
    target = SandboxTarget(state_dir)
    target.sandbox.up()
    kinds = {"crash": crash, "freeze": freeze, "blackhole": blackhole, "pitr": pitr}
    within = 0
    total = 0
    try:
        print(f"fidelity on a real sandbox, sampling every {INTERVAL:.2f} s:", flush=True)
        for _ in range(args.trials):
            for kind, make in kinds.items():
                total += 1
                within += report(run_trial(target, kind, make(target)))
    finally:
        target.sandbox.down(purge=True)
    print(f"{within} of {total} trials within budget")


if __name__ == "__main__":
    main()
