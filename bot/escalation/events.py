"""What happened to which case, for open workspaces: metadata only, never content.

The hub publishes an event after each change; each live connection (bot/workspace/live.py)
receives the ones its reader may see and fetches what changed, sealed, through the API.
In one process this is a set of queues; several processes will publish through the
database or Redis instead, behind the same two methods.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass

log = logging.getLogger(__name__)

QUEUE_SIZE = 200


@dataclass(frozen=True)
class Event:
    kind: str  # "queue": the queue changed; "case": something happened in one case
    code: str | None = None
    what: str | None = None  # opened, claimed, message, note, left, closed, handover…
    holder: str | None = None  # staff id holding the case now
    previous: str | None = None  # staff id who held it before (handover, takeover)

    def as_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def concerns(self, staff_id: str, role: str) -> bool:
        """Queue changes concern every reader; a case's events its holders and supervisors."""
        return (self.kind == "queue" or role == "supervisor"
                or staff_id in (self.holder, self.previous))


class EventBus:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue] = set()

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._queues.discard(queue)

    def publish(self, *events: Event) -> None:
        for queue in list(self._queues):
            for event in events:
                try:
                    queue.put_nowait(event)
                except asyncio.QueueFull:  # a stalled page: it will resync on reconnect
                    log.warning("a live connection fell behind; dropping its events")
                    break
