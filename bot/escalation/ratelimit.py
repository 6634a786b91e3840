"""Token buckets per key (a client address, a staff key id), held in memory.

Log-in and enrolment are the API's doors for people who are not yet authenticated; a
bucket per address and per key id keeps guessing and flooding slow without locking the
rightful owner out for long.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 capacity: int = 50_000):
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._clock = clock
        self._capacity = capacity
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def retry_after(self, key: str) -> float:
        """0 if the call may go ahead (and it is counted), else seconds until it may."""
        now = self._clock()
        tokens, at = self._buckets.pop(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - at) * self._rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self._rate
        while len(self._buckets) > self._capacity:  # forget the least recently seen
            self._buckets.popitem(last=False)
        return wait
