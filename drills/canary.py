"""The canary: sequenced, checksummed writes through the target's real write path, and their audit.

The writer sends records at a fixed rate through the control plane (`POST /api/records`), which
commits each to PostgreSQL before acknowledging. Every acknowledged record is journalled locally
and fsync'd *before* it counts, so the journal is proof of what the target promised to keep; the
fsyncs are grouped (the ticker syncs the journal every `JOURNAL_SYNC_SECONDS`, then counts what it
holds), since one per acknowledgement cost about 1 % of a core at 100 writes/s. It keeps writing
through the outage: failed writes are counted, never journalled. After recovery the verifier
reads the stream back (`GET /api/records`) and recomputes each record's checksum; comparing that
with the journal gives lost and corrupted writes (see `drills.measure`). The service also writes
every record to its graph store (the runbook's Neo4j) before acknowledging it; the verifier reads
the stream back from each such store too (`?store=neo4j`), so loss is measured per store.
"""

from __future__ import annotations

import hashlib
import math
import queue
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from drills.clock import RunClock, iso
from drills.controlplane import paths
from drills.controlplane.connection import Connection, Endpoint
from drills.errors import ServiceError
from drills.models import AckedWrite, CanaryLog, StoreReadback
from drills.timeline import JsonlAppender

READ_PAGE = 5000
JOURNAL_SYNC_SECONDS = 0.05  # acknowledged writes count at most this long after their answer


def checksum(stream: str, seq: int, payload: str) -> str:
    """What a record must hash to; the payload carries the send time, so it is covered too."""
    return hashlib.sha256(f"{stream}|{seq}|{payload}".encode()).hexdigest()


class Record(TypedDict):
    """One canary record as `POST /api/records` takes it."""

    stream: str
    seq: int
    sent_at: str
    payload: str
    checksum: str


def record(stream: str, seq: int, sent_at: str) -> Record:
    """Record `seq` of `stream`, sent at `sent_at` (ISO UTC): its payload is the send time and a
    random part, so no two records are alike, and its checksum covers all of it."""
    payload = f"{sent_at}|{secrets.token_hex(8)}"
    return Record(
        stream=stream,
        seq=seq,
        sent_at=sent_at,
        payload=payload,
        checksum=checksum(stream, seq, payload),
    )


@dataclass
class CanaryCounters:
    """Live counts for the progress display."""

    sent: int = 0
    acked: int = 0
    failed: int = 0
    skipped: int = 0


class CanaryWriter:
    """Writes `rate` records per second on `workers` threads until stopped."""

    def __init__(
        self,
        endpoint: Endpoint,
        stream: str,
        clock: RunClock,
        journal_path: Path,
        *,
        rate: float = 100.0,
        workers: int = 2,
        timeout_seconds: float = 1.0,
    ) -> None:
        self.stream = stream
        self.interval_seconds = 1.0 / rate
        self.counters = CanaryCounters()
        self._endpoint = endpoint
        self._clock = clock
        self._journal = JsonlAppender(journal_path, sync_seconds=math.inf)  # the ticker syncs
        self._queue: queue.Queue[int | None] = queue.Queue(maxsize=workers * 4)
        self._workers = workers
        self._timeout = timeout_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._acked: list[AckedWrite] = []
        self._unsynced: list[tuple[int, AckedWrite]] = []  # (journal line, write) not yet on disk
        self._failed_sent: list[float] = []

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._send_loop, name=f"canary-{i}", daemon=True)
            for i in range(self._workers)
        ]
        self._threads.append(
            threading.Thread(target=self._tick_loop, name="canary-ticker", daemon=True)
        )
        for thread in self._threads:
            thread.start()

    def _tick_loop(self) -> None:
        start = self._clock.now()
        next_sync = start + JOURNAL_SYNC_SECONDS
        seq = 0
        while not self._stop.is_set():
            try:
                self._queue.put_nowait(seq)
            except queue.Full:
                with self._lock:
                    self.counters.skipped += 1  # every sender is stuck: a tick not attempted
            seq += 1
            now = self._clock.now()
            if now >= next_sync:
                self._count_synced(self._journal.sync())
                next_sync = now + JOURNAL_SYNC_SECONDS
            delay = start + seq * self.interval_seconds - self._clock.now()
            if delay > 0:
                self._stop.wait(delay)
        for _ in range(self._workers):
            try:
                self._queue.put(None, timeout=self._timeout + 1.0)
            except queue.Full:  # a sender is stuck past its timeout; stop() will not wait long
                break

    def _send_loop(self) -> None:
        client = Connection(self._endpoint, self._timeout, user_agent="drills-canary")
        try:
            while True:
                seq = self._queue.get()
                if seq is None:
                    return
                try:
                    self._send(client, seq)
                except OSError:  # the local journal failed: the write cannot count as proven
                    with self._lock:
                        self.counters.failed += 1
                        self._failed_sent.append(self._clock.now())
        finally:
            client.close()

    def _send(self, client: Connection, seq: int) -> None:
        sent_t = self._clock.now()
        body = record(self.stream, seq, iso(self._clock.to_utc(sent_t)))
        digest = body["checksum"]
        try:
            ok = client.request("POST", paths.RECORDS, body).status in (200, 201)
        except Exception:  # any failure is a failed write, never a dead sender
            ok = False
        with self._lock:
            self.counters.sent += 1
            if not ok:
                self.counters.failed += 1
                self._failed_sent.append(sent_t)
                return
        ack_t = self._clock.now()
        line = self._journal.append(
            {"seq": seq, "sent_t": round(sent_t, 6), "ack_t": round(ack_t, 6), "checksum": digest}
        )
        write = AckedWrite(seq, sent_t, ack_t, digest)
        with self._lock:
            if line is None:  # the journal cannot take it: kept in memory, `journal_problem` says
                self._acked.append(write)
                self.counters.acked += 1
            else:
                self._unsynced.append((line, write))

    def _count_synced(self, synced_lines: float) -> None:
        """Count the acknowledged writes whose journal lines are on disk (the first
        `synced_lines`)."""
        with self._lock:
            waiting: list[tuple[int, AckedWrite]] = []
            for line, write in self._unsynced:
                if line <= synced_lines:
                    self._acked.append(write)
                    self.counters.acked += 1
                else:
                    waiting.append((line, write))
            self._unsynced = waiting

    def journal_problem(self) -> str | None:
        """Acknowledged writes the journal could not take (a full disk), or None."""
        return self._journal.problem()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self._timeout + 5.0)
        self._journal.close()
        # Synced by the close, or kept in memory with `journal_problem` saying what the disk lost.
        self._count_synced(math.inf)

    def acked(self) -> tuple[AckedWrite, ...]:
        with self._lock:
            return tuple(sorted(self._acked, key=lambda w: w.seq))

    def failed_sent(self) -> tuple[float, ...]:
        """Send times of the writes that failed, in order."""
        with self._lock:
            return tuple(sorted(self._failed_sent))


def read_back(
    endpoint: Endpoint, stream: str, timeout_seconds: float = 10.0, store: str | None = None
) -> dict[int, str]:
    """seq -> checksum recomputed from each record of the stream as the target returns it (from
    `store` when given; the service's primary store, PostgreSQL, otherwise)."""
    found: dict[int, str] = {}
    for record in _pages(endpoint, stream, timeout_seconds, store):
        seq = int(str(record["seq"]))
        found[seq] = checksum(stream, seq, str(record.get("payload", "")))
    return found


def _pages(
    endpoint: Endpoint, stream: str, timeout_seconds: float, store: str | None
) -> Iterator[dict[str, object]]:
    after = -1
    conn = Connection(endpoint, timeout_seconds, user_agent="drills-canary")
    try:
        while True:
            query: dict[str, str | int] = {"stream": stream, "after": after, "limit": READ_PAGE}
            if store is not None:
                query["store"] = store
            reply = conn.request("GET", paths.RECORDS, query=query)
            if not reply.ok:
                raise ServiceError(f"GET {paths.RECORDS}: HTTP {reply.status}")
            body = reply.json()
            records = body.get("records", [])
            yield from records
            if not records or body.get("next") is None:
                return
            after = int(body["next"])
    finally:
        conn.close()


def verify(
    endpoint: Endpoint,
    stream: str,
    acked: tuple[AckedWrite, ...],
    failed: int,
    interval_seconds: float,
    stores: tuple[str, ...] = (),
) -> CanaryLog:
    """Read the stream back from the recovered target, from its primary store and from each of
    `stores`; a failed read-back is recorded, not guessed."""
    readback, error = _read_or_why(endpoint, stream, None)
    others = tuple(StoreReadback(store, *_read_or_why(endpoint, stream, store)) for store in stores)
    return CanaryLog(acked, failed, readback, error, interval_seconds, stores=others)


def _read_or_why(
    endpoint: Endpoint, stream: str, store: str | None
) -> tuple[dict[int, str] | None, str | None]:
    try:
        return read_back(endpoint, stream, store=store), None
    except (ServiceError, ValueError, KeyError, AttributeError) as exc:
        return None, f"read-back failed: {type(exc).__name__}: {exc}"
