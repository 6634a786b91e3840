"""Which Rasa instance serves a conversation.

Each conversation goes to the same instance every turn while that one is healthy: its lock
is uncontended and a Redis outage costs nothing. An instance that fails (refused, error, too
slow) is passed over for ``cooldown_s``; its conversations move to the next instance in a
fixed order, which reads them from the shared tracker store. When the cooldown ends the
instance gets traffic again, so the service recovers by itself.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

COOLDOWN_S = 10.0


class InstancePool:
    def __init__(self, urls: tuple[str, ...] | list[str], cooldown_s: float = COOLDOWN_S,
                 clock: Callable[[], float] = time.monotonic):
        if not urls:
            raise ValueError("at least one Rasa instance is needed")
        self.urls = tuple(urls)
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._down_until: dict[str, float] = {}

    def order(self, sender: str) -> list[str]:
        """The instances to try for this conversation: its own first, healthy before failed."""
        start = int.from_bytes(hashlib.sha256(sender.encode()).digest()[:4], "big")
        ring = [self.urls[(start + i) % len(self.urls)] for i in range(len(self.urls))]
        now = self._clock()
        return sorted(ring, key=lambda url: self._down_until.get(url, 0.0) > now)

    def failed(self, url: str) -> None:
        self._down_until[url] = self._clock() + self._cooldown_s

    def succeeded(self, url: str) -> None:
        self._down_until.pop(url, None)

    def healthy(self, url: str) -> bool:
        return self._down_until.get(url, 0.0) <= self._clock()
