"""Does the harness measure the truth? Two checks that print their figures.

1. RTO: a loopback HTTP service is held down for exactly N seconds (it decides by the run clock
   itself); the sampler and `drills.measure` must report an RTO within one sampling interval of N.
2. Canary: on a real sandbox, K known canary rows are deleted and J corrupted behind the service's
   back; the verifier must report exactly K lost and J corrupted.

    .venv/bin/python -m benchmarks.fidelity
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

from drills import measure
from drills.canary import CanaryWriter, verify
from drills.clock import RunClock
from drills.models import ActivityMark, Sample, Stage
from drills.sampler import Sampler
from drills.targets.base import SignalKind, SignalSpec


class Outage:
    """A window on the run clock during which the service answers 503."""

    def __init__(self, clock: RunClock) -> None:
        self.clock = clock
        self.start = float("inf")
        self.end = float("inf")

    def down(self) -> bool:
        return self.start <= self.clock.now() < self.end


def serve(outage: Outage) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = 503 if outage.down() else 200
            self.send_response(code)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def rto_trial(length_seconds: float, interval_seconds: float) -> tuple[float, float]:
    clock = RunClock()
    outage = Outage(clock)
    server = serve(outage)
    samples: list[Sample] = []
    url = f"http://127.0.0.1:{server.server_address[1]}/health"
    sampler = Sampler(
        [SignalSpec("health", SignalKind.HTTP, url)],
        clock,
        samples.append,
        interval_seconds=interval_seconds,
    )
    sampler.start()
    time.sleep(1.0 + random.random() * interval_seconds)  # fault at a random phase of the tick
    fault = clock.now()
    outage.start, outage.end = fault, fault + length_seconds
    time.sleep(length_seconds + 1.0)
    sampler.stop()
    server.shutdown()
    mark = ActivityMark("outage", "action", Stage.METHOD, fault, fault + 0.001, ("fault",))
    m = measure.compute(samples, [mark], None, started_at=0.0, ended_at=clock.now())
    assert m.rto_seconds is not None, m.unmeasured
    return m.rto_seconds - length_seconds, m.resolution_seconds or interval_seconds


def canary_trial(lost: int, corrupted: int) -> tuple[int, int]:
    from drills.targets.sandbox.stack import Sandbox

    state_dir = Path(tempfile.mkdtemp(prefix="drills-bench-fidelity-"))
    state_dir.chmod(0o711)
    box = Sandbox(state_dir)
    box.up()
    try:
        clock = RunClock()
        writer = CanaryWriter(box.control_plane_url, "fidelity", clock, state_dir / "canary.jsonl")
        writer.start()
        time.sleep(3.0)
        writer.stop()
        acked = writer.acked()
        victims = random.sample([w.seq for w in acked], lost + corrupted)
        with psycopg.connect(box.postgres_conninfo(), autocommit=True) as conn:
            conn.execute(
                "DELETE FROM canary_records WHERE stream = 'fidelity' AND seq = ANY(%s)",
                (victims[:lost],),
            )
            conn.execute(
                "UPDATE canary_records SET payload = payload || 'X' WHERE stream = 'fidelity' AND seq = ANY(%s)",
                (victims[lost:],),
            )
        log = verify(box.control_plane_url, "fidelity", acked, 0, writer.interval_seconds)
        fault = clock.now()
        loss = measure.measure_canary(log, fault)
        print(f"canary: {len(acked)} acked in 3 s; deleted {lost}, corrupted {corrupted}")
        return int(loss.writes_lost or 0), int(loss.writes_corrupted or 0)
    finally:
        box.down(purge=True)


def main() -> None:
    print("RTO fidelity (measured - true, seconds; must lie in [0, one sampling interval]):")
    worst = 0.0
    for interval in (0.1, 0.05):
        for length in (1.0, 2.5, 4.0):
            error, resolution = rto_trial(length, interval)
            worst = max(worst, abs(error) / resolution)
            ok = "ok" if 0 <= error <= resolution else "OUT OF BOUNDS"
            print(
                f"  interval {interval:.2f} s, outage {length:.1f} s: error {error:+.4f} s "
                f"(resolution {resolution:.3f} s) {ok}"
            )
    print(f"  worst |error| = {worst:.2f} sampling intervals")
    lost, corrupted = canary_trial(lost=25, corrupted=7)
    print(
        f"canary fidelity: verifier reports {lost} lost (expected 25), {corrupted} corrupted (expected 7)"
    )


if __name__ == "__main__":
    main()
