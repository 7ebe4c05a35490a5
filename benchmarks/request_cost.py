"""CPU per control-plane request: drills' client beside the standard library's `http.client`.

    .venv/bin/python -m benchmarks.request_cost [--requests N]

On a fresh sandbox, sends N canary-shaped `POST /api/records` (default 300) through each client,
paced as a drill paces them (one every 10 ms: the CPU goes idle between requests, so each runs on
cold caches, which on a VM costs more than the request itself), each client from its own loopback
address, twice in turn, and prints the CPU time of the sending thread per request. This is the figure behind
`drills.controlplane.connection`'s choice of client: the canary sends 100 of these a second inside
a harness budget of 10 % of one core.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from drills.canary import record
from drills.clock import iso
from drills.controlplane import paths
from drills.controlplane.connection import Connection, Endpoint
from drills.targets.sandbox.stack import Sandbox

Send = Callable[[bytes], int]  # one request body -> the answer's status

PACE_SECONDS = 0.01


def drills_client(endpoint: Endpoint, source: str) -> Send:
    conn = Connection(endpoint, 2.0, source_address=source)
    headers = {"content-type": "application/json"}
    return lambda body: conn.request("POST", paths.RECORDS, content=body, headers=headers).status


def stdlib_client(endpoint: Endpoint, source: str) -> Send:
    conn = http.client.HTTPConnection(endpoint.host, endpoint.port, 2.0, (source, 0))
    headers = {"content-type": "application/json", "accept": "application/json"}

    def send(body: bytes) -> int:
        conn.request("POST", paths.RECORDS, body, headers)
        response = conn.getresponse()
        response.read()
        return response.status

    return send


def records(stream: str, count: int) -> list[bytes]:
    """`count` canary records as the canary sends them (made before the clock starts)."""
    sent = (record(stream, seq, iso(datetime.now(UTC))) for seq in range(count))
    return [json.dumps(body, separators=(",", ":")).encode() for body in sent]


def cpu_per_request(send: Send, bodies: list[bytes]) -> tuple[float, set[int]]:
    """Microseconds of this thread's CPU per request, and the statuses answered."""
    statuses: set[int] = set()
    started = time.thread_time()
    for body in bodies:
        statuses.add(send(body))
        time.sleep(PACE_SECONDS)
    return 1e6 * (time.thread_time() - started) / len(bodies), statuses


def main(count: int) -> None:
    state_dir = Path(tempfile.mkdtemp(prefix="drills-bench-request-"))
    sandbox = Sandbox(state_dir / "sandbox")
    sandbox.up()
    try:
        endpoint = Endpoint(sandbox.control_plane_url)
        clients = {"drills (httptools)": drills_client, "http.client": stdlib_client}
        source = 0
        for rounds in range(2):  # twice, interleaved: one machine hiccup shows as a disagreement
            for name, make in clients.items():
                source += 1
                send = make(endpoint, f"127.0.7.{source}")
                send(b"{}")  # connected before the clock starts (a 400: not a record)
                cost, statuses = cpu_per_request(send, records(f"bench-{source}", count))
                print(
                    f"round {rounds + 1}: {name:<19} {cost:4.0f} us of CPU per request, one every "
                    f"{PACE_SECONDS * 1000:.0f} ms (answers {sorted(statuses)})",
                    flush=True,
                )
    finally:
        sandbox.down(purge=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="per client and pace (300)")
    main(max(10, parser.parse_args(sys.argv[1:]).requests))
