"""Background work of a running experiment, kept between its activities.

A flood, a crowd of slow clients or a breaker watch starts in one activity and must be stopped by a
later one, or by a rollback when the method failed half-way. Chaos Toolkit runs every activity in
one process, so they meet here: one `Slot` per kind of work, keyed by target (and name).
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

__all__ = ["Slot"]

T = TypeVar("T")


class Slot(Generic[T]):
    """At most one item per key; `put` hands back the item it replaced (the caller stops it)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._lock = threading.Lock()

    def put(self, key: str, item: T) -> T | None:
        with self._lock:
            previous = self._items.get(key)
            self._items[key] = item
            return previous

    def take(self, key: str) -> T | None:
        with self._lock:
            return self._items.pop(key, None)

    def get(self, key: str) -> T | None:
        with self._lock:
            return self._items.get(key)
