"""The runtime file: the sandbox's equivalent of applying a ConfigMap or a maintenance manifest.

The harness changes a running deployment (maintenance mode, rate limit, deny list, and the injected
HTTP faults of the monitoring drill: a share of requests answered 500, a delay before every answer,
as a service mesh's fault injection would) by rewriting one
small JSON file atomically with `write_runtime`; every replica polls its modification stamp and
picks the change up within about a quarter of a second. A malformed file is logged and ignored
(the last good state stays), as a controller would ignore a rejected manifest; an absent file
means the defaults.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from limits import parse

from drills.errors import InputError

__all__ = ["RuntimeState", "RuntimeWatcher", "load_runtime", "write_runtime"]

log = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 0.25


@dataclass(frozen=True)
class RuntimeState:
    """What the runtime file says. `rate_limit` None means the config's default limit."""

    maintenance: bool = False
    rate_limit: str | None = None
    deny: frozenset[str] = field(default_factory=frozenset)
    abort_share: float = 0.0  # this share of requests (not /metrics) is answered 500
    delay_seconds: float = 0.0  # every request (not /metrics) waits this long first

    @classmethod
    def from_dict(cls, data: Any) -> RuntimeState:
        if not isinstance(data, dict):
            raise InputError("runtime file: expected a JSON object")
        unknown = sorted(set(data) - _FIELDS)
        if unknown:
            raise InputError(f"runtime file: unknown field(s): {', '.join(unknown)}")
        maintenance = data.get("maintenance", False)
        if not isinstance(maintenance, bool):
            raise InputError("runtime file: maintenance must be true or false")
        rate_limit = data.get("rate_limit")
        if rate_limit is not None:
            if not isinstance(rate_limit, str):
                raise InputError("runtime file: rate_limit must be a string or null")
            try:
                parse(rate_limit)
            except ValueError as exc:
                raise InputError(f"runtime file: bad rate_limit {rate_limit!r}") from exc
        deny = data.get("deny", [])
        if not isinstance(deny, list) or not all(isinstance(a, str) for a in deny):
            raise InputError("runtime file: deny must be a list of address strings")
        abort_share = _number(data, "abort_share", MAX_ABORT_SHARE)
        delay_seconds = _number(data, "delay_seconds", MAX_DELAY_SECONDS)
        return cls(
            maintenance=maintenance,
            rate_limit=rate_limit,
            deny=frozenset(deny),
            abort_share=abort_share,
            delay_seconds=delay_seconds,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "maintenance": self.maintenance,
            "rate_limit": self.rate_limit,
            "deny": sorted(self.deny),
            "abort_share": self.abort_share,
            "delay_seconds": self.delay_seconds,
        }


_FIELDS = {"maintenance", "rate_limit", "deny", "abort_share", "delay_seconds"}
MAX_ABORT_SHARE = 1.0
MAX_DELAY_SECONDS = 30.0


def _number(data: dict[str, Any], name: str, maximum: float) -> float:
    value = data.get(name, 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= maximum:
        raise InputError(f"runtime file: {name} must be a number from 0 to {maximum:g}")
    return float(value)


def load_runtime(path: str | Path) -> RuntimeState:
    """Read the runtime file: defaults when absent, `InputError` when malformed."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return RuntimeState()
    except OSError as exc:
        raise InputError(f"runtime file {path}: cannot read: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"runtime file {path}: not valid JSON: {exc}") from exc
    return RuntimeState.from_dict(data)


def write_runtime(
    path: str | Path,
    *,
    maintenance: bool = False,
    rate_limit: str | None = None,
    deny: Iterable[str] = (),
    abort_share: float = 0.0,
    delay_seconds: float = 0.0,
) -> RuntimeState:
    """Atomically replace the runtime file (temp file, fsync, rename); returns what was written.

    Every replica sees the new state within about `POLL_INTERVAL_SECONDS`. Bad values raise
    `InputError` here, before anything is written.
    """
    state = RuntimeState.from_dict(
        {
            "maintenance": maintenance,
            "rate_limit": rate_limit,
            "deny": list(deny),
            "abort_share": abort_share,
            "delay_seconds": delay_seconds,
        }
    )
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(state.to_dict(), handle)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(target)
    return state


_Stamp = tuple[int, int, int] | None


class RuntimeWatcher:
    """Polls one runtime file and keeps the last good state in `current`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.current = RuntimeState()
        self._stamp: _Stamp = None
        self._first = True

    def _read_stamp(self) -> _Stamp:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        # inode too: os.replace within one mtime tick still changes the inode.
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def poll(self) -> bool:
        """Re-read the file if it changed; True when `current` changed."""
        try:
            stamp = self._read_stamp()
        except OSError as exc:
            log.warning("runtime file %s: cannot stat: %s", self.path, exc)
            return False
        if stamp == self._stamp and not self._first:
            return False
        self._first = False
        self._stamp = stamp
        try:
            state = load_runtime(self.path) if stamp is not None else RuntimeState()
        except InputError as exc:
            log.error("%s; keeping the last good runtime state", exc)
            return False
        if state == self.current:
            return False
        log.info("runtime state: %s", json.dumps(state.to_dict()))
        self.current = state
        return True

    async def run(self, interval_seconds: float = POLL_INTERVAL_SECONDS) -> None:
        """Poll forever (cancel to stop)."""
        while True:
            self.poll()
            await asyncio.sleep(interval_seconds)
