"""`timeline.jsonl`: the drill's samples and activity marks, appended crash-safe as they happen.

Each record is one line written with a single `write()` on an O_APPEND descriptor, so a crash can
at worst leave a torn last line, which the reader skips. fsync runs at most every `sync_seconds`
during appends, or when the owner asks (`sync`): the canary journal, which proves
acknowledgements, syncs in groups and counts a write only once the line holding it is on disk.

A write that fails (a full disk, a folder gone read-only) is counted, never raised: appends come
from sampler and canary threads that must keep measuring, and their callers keep every record in
memory too, so the drill's verdict survives a disk that cannot take its timeline.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class JsonlAppender:
    """Thread-safe appends of JSON objects, one per line; failed writes counted, not raised."""

    def __init__(self, path: Path, *, sync_seconds: float = 1.0) -> None:
        self.path = path
        self.failed_writes = 0
        self.first_error: str | None = None
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()  # one `sync` at a time, and never across a close
        self._sync_seconds = sync_seconds
        self._last_sync = time.monotonic()
        self._closed = False
        self._written = 0  # lines written
        self._synced = 0  # of those, the lines an fsync has put on disk
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            self._fd = -1
            self._failed(exc)

    def append(self, record: dict[str, Any]) -> int | None:
        """Append one record; its line number (from 1), or None when it could not be written (and
        is counted)."""
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        with self._lock:
            if self._closed:
                return None
            if self._fd < 0:
                self.failed_writes += 1
                return None
            try:
                written = os.write(self._fd, line)
                if written < len(line):  # the disk filled mid-line: end the torn line
                    with contextlib.suppress(OSError):
                        os.write(self._fd, b"\n")
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                self._written += 1
                number = self._written
                now = time.monotonic()
                if now - self._last_sync >= self._sync_seconds:
                    os.fsync(self._fd)
                    self._last_sync = now
                    self._synced = self._written
            except OSError as exc:
                self._failed(exc)
                return None
            return number

    def sync(self) -> int:
        """fsync the lines written since the last sync; returns how many lines are on disk.

        Appends go on while the fsync runs (it holds only the sync lock): a writer never waits
        for the disk."""
        with self._sync_lock:
            with self._lock:
                if self._fd < 0 or self._synced >= self._written:
                    return self._synced
                fd, written = self._fd, self._written
            try:
                os.fsync(fd)
            except OSError as exc:
                with self._lock:
                    self._failed(exc)
                    return self._synced
            with self._lock:
                self._last_sync = time.monotonic()
                self._synced = max(self._synced, written)
                return self._synced

    def _failed(self, exc: OSError) -> None:
        self.failed_writes += 1
        if self.first_error is None:
            self.first_error = f"{exc.strerror or exc}"

    def problem(self) -> str | None:
        """One line about the writes that failed, None when every write succeeded."""
        if not self.failed_writes:
            return None
        return (
            f"{self.failed_writes} record(s) could not be written to {self.path} "
            f"({self.first_error}); the measurement kept them in memory"
        )

    def close(self) -> None:
        with self._sync_lock, self._lock:
            self._closed = True
            if self._fd >= 0:
                try:
                    os.fsync(self._fd)
                    self._synced = self._written
                except OSError as exc:
                    self._failed(exc)
                os.close(self._fd)
                self._fd = -1


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete JSON line; a torn last line (a crash mid-write) is skipped."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                break
            try:
                yield json.loads(raw)
            except json.JSONDecodeError:
                continue
