"""Rasa's memory of conversations, kept no longer than the conversation itself.

Rasa's own in-memory store keeps every conversation for the life of the process: a
transcript on offer for anyone who can reach the server, and memory that only grows. This
store forgets a conversation after a quiet period (``quiet_minutes`` in endpoints.yml,
from ANTAM_CONVERSATION_MINUTES), and at once when the bot wipes it (quick exit, /xoa),
which it does by replacing every event with none. Nothing is ever written to disk.

It runs inside Rasa (Python 3.10); it must not import ``bot``.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, Iterable

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 60.0


class ExpiringInMemoryTrackerStore(InMemoryTrackerStore):
    def __init__(
        self,
        domain: Domain,
        host: str | None = None,
        event_broker: EventBroker | None = None,
        quiet_minutes: float = 30,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Dict[str, Any],
    ) -> None:
        super().__init__(domain, event_broker, **kwargs)
        self.quiet_s = float(quiet_minutes) * 60
        if self.quiet_s <= 0:
            raise ValueError("quiet_minutes must be positive")
        self._clock = clock
        self._touched: Dict[str, float] = {}
        self._swept = clock()

    async def save(self, tracker: DialogueStateTracker) -> None:
        self._sweep()
        if not tracker.events:  # the bot wiped the conversation: keep not even its id
            self._forget(tracker.sender_id)
            return
        await super().save(tracker)
        self._touched[tracker.sender_id] = self._clock()

    async def _retrieve(
        self, sender_id: str, fetch_all_sessions: bool
    ) -> DialogueStateTracker | None:
        if self._expired(sender_id):
            self._forget(sender_id)
        return await super()._retrieve(sender_id, fetch_all_sessions)

    async def keys(self) -> Iterable[str]:
        self._sweep(force=True)
        return list(self.store.keys())

    def _expired(self, sender_id: str) -> bool:
        touched = self._touched.get(sender_id)
        return touched is not None and self._clock() - touched >= self.quiet_s

    def _forget(self, sender_id: str) -> None:
        self.store.pop(sender_id, None)
        self._touched.pop(sender_id, None)

    def _sweep(self, force: bool = False) -> None:
        """Drop every quiet conversation, at most once a minute (it walks them all)."""
        now = self._clock()
        if not force and now - self._swept < SWEEP_EVERY_S:
            return
        self._swept = now
        for sender_id in [s for s in self._touched if now - self._touched[s] >= self.quiet_s]:
            self._forget(sender_id)
