"""What happened to which case, for open workspaces: metadata only, never content.

The hub publishes an event after each change; each live connection (bot/workspace/live.py)
receives the ones its reader may see and fetches what changed, sealed, through the API.
In one process this is a set of queues. With a notifier (PostgreSQL LISTEN/NOTIFY), events
also go to the other processes: a case a user opens through one bot worker reaches the
workspace served by another process at once. After a lost signal connection every page is
told to refetch the queue.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import asdict, dataclass

from bot.escalation.policy import QUEUE_ROLES
from bot.storage.notify import RESYNC, LocalNotifier

log = logging.getLogger(__name__)

QUEUE_SIZE = 200
CHANNEL = "antam_events"


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
        if role not in QUEUE_ROLES:  # editors: no case, no queue
            return False
        return (self.kind == "queue" or role == "supervisor"
                or staff_id in (self.holder, self.previous))


class EventBus:
    def __init__(self, notifier: LocalNotifier | None = None) -> None:
        self._queues: set[asyncio.Queue] = set()
        self._notifier = notifier  # None: this process is the whole service
        self._remote = notifier.subscribe(CHANNEL) if notifier else None
        self._origin = secrets.token_hex(8)  # our own events come back: skip them
        self._sending: set[asyncio.Task] = set()
        self.changes = 0  # events seen so far, here or from elsewhere: "has anything changed?"

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._queues.discard(queue)

    def publish(self, *events: Event) -> None:
        self._fan_out(events)
        if self._notifier is not None and events:
            payload = json.dumps({"from": self._origin, "events": [e.as_json() for e in events]})
            task = asyncio.get_running_loop().create_task(self._notifier.notify(CHANNEL, payload))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def run(self) -> None:
        """Pass other processes' events to this process's pages, until cancelled."""
        if self._remote is None:
            await asyncio.Event().wait()  # nothing comes from elsewhere
        while True:
            payload = await self._remote.get()
            if payload == RESYNC:
                self._fan_out((Event("queue", None, "resync"),))
                continue
            try:
                doc = json.loads(payload)
                if doc.get("from") != self._origin:
                    self._fan_out(tuple(Event(**e) for e in doc.get("events") or ()))
            except (ValueError, TypeError, AttributeError):
                log.warning("ignored a malformed event signal")

    def _fan_out(self, events: tuple[Event, ...]) -> None:
        self.changes += len(events)
        for queue in list(self._queues):
            for event in events:
                try:
                    queue.put_nowait(event)
                except asyncio.QueueFull:  # a stalled page: it will resync on reconnect
                    log.warning("a live connection fell behind; dropping its events")
                    break
