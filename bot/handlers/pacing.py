"""Per-chat pacing: Telegram allows about one message per second in a chat.

A small token bucket per chat lets a turn's two or three replies go out at
once, then holds the chat to the sustained rate. The overall 30/s limit and
429 retries are PTB's AIORateLimiter's job.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class ChatPacer:
    def __init__(self, rate_per_s: float = 1.0, burst: int = 3,
                 clock: Callable[[], float] = time.monotonic):
        self._rate, self._burst, self._clock = rate_per_s, burst, clock
        self._buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, at)
        self._locks: dict[int, asyncio.Lock] = {}

    async def wait(self, chat_id: int) -> None:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        async with lock:
            tokens, at = self._buckets.get(chat_id, (float(self._burst), self._clock()))
            now = self._clock()
            tokens = min(float(self._burst), tokens + (now - at) * self._rate)
            if tokens < 1.0:
                await asyncio.sleep((1.0 - tokens) / self._rate)
                now, tokens = self._clock(), 1.0
            self._buckets[chat_id] = (tokens - 1.0, now)
