"""A token bucket: how long to wait before sending, to hold a steady rate with small bursts."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """`rate` tokens per second, holding at most `capacity`; taking more than there is
    borrows from the future, and the answer is how long to wait until that debt is paid."""

    def __init__(
        self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.rate = rate
        self.capacity = capacity
        self.clock = clock
        self._tokens = capacity
        self._updated = clock()

    def take(self, tokens: float = 1.0) -> float:
        """Take `tokens`; return the seconds to wait before using them (0 when they were there)."""
        now = self.clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= tokens
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate
