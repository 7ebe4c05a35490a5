"""The webhook receiver Alertmanager notifies: the harness's pager.

`python -m drills.monitoring.receiver --port P --out FILE` answers Alertmanager's webhook POSTs on
127.0.0.1 and appends each notification to FILE as one JSON line, stamped when it arrived (UTC and
the machine's monotonic clock, which every process on Linux shares): the drill reads the file to
learn when each alert reached a person. `notifications()` reads it back.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["Notification", "main", "notifications"]

MAX_BODY_BYTES = 1 << 20


@dataclass(frozen=True)
class Notification:
    """One alert in one webhook: its name, status (firing/resolved), labels, and arrival."""

    alert: str
    status: str
    labels: dict[str, str]
    received_at: str
    received_monotonic: float


def notifications(path: Path, since_monotonic: float = 0.0) -> list[Notification]:
    """Every alert notified into `path` at or after `since_monotonic`, oldest first."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    found: list[Notification] = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash
        if float(entry.get("received_monotonic", 0)) < since_monotonic:
            continue
        found.extend(_alerts_of(entry))
    return found


def _alerts_of(entry: dict[str, Any]) -> Iterator[Notification]:
    for alert in (entry.get("payload") or {}).get("alerts") or []:
        labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items()}
        yield Notification(
            alert=labels.get("alertname", ""),
            status=str(alert.get("status", "")),
            labels=labels,
            received_at=str(entry["received_at"]),
            received_monotonic=float(entry["received_monotonic"]),
        )


class _Handler(BaseHTTPRequestHandler):
    out: Path
    lock = threading.Lock()

    def do_GET(self) -> None:
        self._answer(200 if self.path == "/-/ready" else 404)

    def do_POST(self) -> None:
        received_monotonic = time.monotonic()
        received_at = datetime.now(UTC).isoformat()
        length = int(self.headers.get("content-length") or 0)
        if not 0 < length <= MAX_BODY_BYTES:
            self._answer(400)
            return
        try:
            payload = json.loads(self.rfile.read(length))
        except ValueError:
            self._answer(400)
            return
        line = json.dumps(
            {
                "received_at": received_at,
                "received_monotonic": received_monotonic,
                "payload": payload,
            }
        )
        with self.lock, self.out.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        self._answer(200)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drills.monitoring.receiver")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="JSON lines file to append to")
    args = parser.parse_args(argv)
    _Handler.out = args.out
    args.out.parent.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _Handler)
    print(f"webhook receiver on 127.0.0.1:{args.port} writing {args.out}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
