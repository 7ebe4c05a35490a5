"""Per-client-address rate limiting, as the runbook's ingress does it, inside each replica.

A moving window per client address (the `limits` library, in memory). Each replica counts on its
own, like per-pod limits: with N replicas a client that spreads its connections can get up to N
times the limit. The limit in force is the runtime file's `rate_limit`, else the config's default.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

__all__ = ["ClientRateLimiter", "RateDecision"]


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: str
    retry_after_seconds: int = 0


class ClientRateLimiter:
    def __init__(self, default_limit: str) -> None:
        self.default_limit = default_limit
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._items: dict[str, RateLimitItem] = {}

    def _item(self, text: str) -> RateLimitItem:
        item = self._items.get(text)
        if item is None:
            item = self._items[text] = parse(text)
        return item

    def effective(self, override: str | None) -> str:
        return override if override is not None else self.default_limit

    def hit(self, client: str, override: str | None = None) -> RateDecision:
        """Count one request from `client`; say whether it is within the limit in force."""
        text = self.effective(override)
        item = self._item(text)
        if self._limiter.hit(item, client):
            return RateDecision(allowed=True, limit=text)
        stats = self._limiter.get_window_stats(item, client)
        # limits reports the window's reset as epoch seconds; Retry-After wants whole seconds >= 1.
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        return RateDecision(allowed=False, limit=text, retry_after_seconds=retry_after)
