"""What Ctrl-C and SIGTERM do to the harness, decided once for every entry point.

While a drill or a game day runs, SIGTERM behaves like Ctrl-C (a KeyboardInterrupt: clean up,
keep what was measured). While something must finish whatever comes — the run folder being
written, a fresh sandbox being removed — both are noted instead of raised, and the caller sees
which arrived. Such blocks nest (a fresh sandbox's removal inside a run's teardown): an
interrupt noted inside is noted by every enclosing block too, so the outermost caller still
learns of it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["deferred_interrupts", "sigterm_as_interrupt"]

_open_deferrals: list[list[int]] = []  # the `received` lists of open blocks (main thread only)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM outside Chaos Toolkit's own handling behaves like Ctrl-C: clean up, keep data."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[list[int]]:
    """Ctrl-C and SIGTERM are noted, not raised, while the block finishes; the caller sees which
    arrived (and so does every enclosing block)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def note(signum: int, frame: FrameType | None) -> None:
        for noted in _open_deferrals:
            noted.append(signum)

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    _open_deferrals.append(received)
    try:
        yield received
    finally:
        _open_deferrals[:] = [noted for noted in _open_deferrals if noted is not received]
        for sig, handler in previous.items():
            signal.signal(sig, handler)
