"""Wiping a person's data honestly: every step is tried, failures are retried, and the
caller learns whether everything went, so the user is never told "deleted" when it was not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

log = logging.getLogger(__name__)

Step = Callable[[str], Awaitable[object]]
RETRY_DELAYS_S = (30.0, 120.0, 600.0)


class Wipe:
    """Named steps run in order for one pseudonym; a failed step is retried in the
    background after each of ``retry_delays`` seconds until it succeeds."""

    def __init__(self, steps: Sequence[tuple[str, Step]] = (),
                 retry_delays: Sequence[float] = RETRY_DELAYS_S,
                 last: tuple[str, Step] | None = None):
        self._steps = list(steps)
        self._last = last  # always runs after every other step (e.g. scrubbing the WAL)
        self._delays = tuple(retry_delays)
        self._retries: set[asyncio.Task] = set()

    def add(self, name: str, step: Step) -> None:
        """A step of a channel's own (e.g. the message ids Telegram lets a quick exit delete)."""
        self._steps.append((name, step))

    async def run(self, pseudonym: str) -> bool:
        """True if every step succeeded now; otherwise the failed ones are being retried."""
        failed = await self._attempt(pseudonym, self._all())
        if failed:
            task = asyncio.ensure_future(self._retry(pseudonym, failed))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)
        return not failed

    async def settle(self) -> None:
        """Wait for retries in flight (tests, and shutting down)."""
        while self._retries:
            await asyncio.gather(*list(self._retries), return_exceptions=True)

    def _all(self) -> list[tuple[str, Step]]:
        return self._steps + ([self._last] if self._last else [])

    async def _attempt(self, pseudonym: str,
                       steps: Sequence[tuple[str, Step]]) -> list[tuple[str, Step]]:
        failed = []
        for name, step in steps:
            try:
                if await step(pseudonym) is False:
                    raise RuntimeError("step reported failure")
            except Exception as error:  # the type only: an error may quote stored data
                log.error("wipe step %s failed: %s", name, type(error).__name__)
                failed.append((name, step))
        if failed and self._last and self._last not in failed:
            failed.append(self._last)  # scrub again once the failed steps have gone through
        return failed

    async def _retry(self, pseudonym: str, failed: list[tuple[str, Step]]) -> None:
        for delay in self._delays:
            await asyncio.sleep(delay)
            failed = await self._attempt(pseudonym, failed)
            if not failed:
                log.info("wipe completed on retry")
                return
        log.error("wipe gave up after %d retries: %s", len(self._delays),
                  ", ".join(name for name, _ in failed))
