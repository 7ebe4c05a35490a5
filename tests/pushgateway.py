"""A tiny Pushgateway stand-in on loopback: records every push (method, path, body) and answers
200, so tests can hold what `drills` pushed against Prometheus' own text parser."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.loopback import QuietHandler, serving


@dataclass(frozen=True)
class Push:
    method: str
    path: str
    content_type: str
    body: str


@dataclass
class Recorder:
    url: str
    pushes: list[Push] = field(default_factory=list)


@contextmanager
def recording_pushgateway() -> Iterator[Recorder]:
    """A loopback HTTP server that records pushes until the block ends."""
    lock = threading.Lock()
    pushes: list[Push] = []

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def _record(self) -> None:
            body = self.request_body().decode("utf-8")
            with lock:
                pushes.append(
                    Push(self.command, self.path, self.headers.get("content-type", ""), body)
                )
            self.answer(200)  # an empty body

        do_PUT = do_POST = _record

    with serving(Handler) as url:
        yield Recorder(url, pushes)
