"""The workspace's live feed: a WebSocket that tells an open page what changed (the queue,
a case it may see), never what was said. The page then fetches the sealed items through
the API and opens them itself.

Protocol: the page sends {"type": "auth", "token": ...} first (a WebSocket carries no
Authorization header); the server answers {"type": "hello", "staff_id", "role"} and then
one {"type": "queue" | "case", "code", "what"} per change. The session is checked again
every minute: a removed counselor's page is told {"type": "ended"} and disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from tornado.websocket import WebSocketClosedError, WebSocketHandler

from bot.escalation.crypto import origin_of
from bot.escalation.errors import EscalationError
from bot.escalation.hub import EscalationHub
from bot.escalation.views import Principal

log = logging.getLogger(__name__)

AUTH_WITHIN_S = 10.0
RECHECK_EVERY_S = 60.0
MAX_MESSAGE = 4096


class LiveFeed(WebSocketHandler):
    open_feeds: set[LiveFeed] = set()  # a WebSocket outlives its HTTP server's stop()

    @classmethod
    def close_all(cls, hub: EscalationHub) -> None:
        """Disconnect every page fed by ``hub`` (a server that stops)."""
        for feed in [f for f in cls.open_feeds if f.hub is hub]:
            feed.close(1001, "server stopping")

    def initialize(self, hub: EscalationHub) -> None:
        self.hub = hub
        self.principal: Principal | None = None
        self._queue: asyncio.Queue | None = None
        self._tasks: list[asyncio.Task] = []
        self.route = "/live"

    def check_origin(self, origin: str) -> bool:
        """Only pages served from the workspace's own origins may connect."""
        try:
            return origin_of(origin) in self.hub.service.policy.origins() or super(
            ).check_origin(origin)
        except ValueError:
            return False

    def open(self) -> None:
        self.open_feeds.add(self)
        self.set_nodelay(True)
        self._tasks.append(asyncio.ensure_future(self._expect_auth()))

    async def _expect_auth(self) -> None:
        await asyncio.sleep(AUTH_WITHIN_S)
        if self.principal is None:
            self.close(4401, "authenticate first")

    async def on_message(self, message: str | bytes) -> None:
        if self.principal is not None or len(message) > MAX_MESSAGE:
            return  # the page has nothing else to say on this channel
        try:
            doc = json.loads(message)
            token = doc["token"] if doc.get("type") == "auth" else None
            if not isinstance(token, str):
                raise ValueError
            self.principal = await self.hub.run(self.hub.service.sessions.authenticate, token)
        except (ValueError, KeyError, TypeError, AttributeError, EscalationError):
            self._send({"type": "ended"})
            self.close(4401, "not logged in")
            return
        self._token = token
        self._queue = self.hub.events.subscribe()
        self._send({"type": "hello", "staff_id": self.principal.staff_id,
                    "role": self.principal.role})
        self._tasks += [asyncio.ensure_future(self._pump()),
                        asyncio.ensure_future(self._recheck())]

    async def _pump(self) -> None:
        """Forward the events this reader may see, as they happen."""
        who = self.principal
        while True:
            event = await self._queue.get()
            if event.kind == "staff":  # this person was removed: check now, not in a minute
                if event.holder == who.staff_id and not await self._still_valid():
                    return
            elif event.concerns(who.staff_id, who.role):
                self._send(event.as_json() | {"type": event.kind})

    async def _recheck(self) -> None:
        """A session can end while the page stays open (removal, key retired, expiry)."""
        while await self._still_valid():
            await asyncio.sleep(RECHECK_EVERY_S)

    async def _still_valid(self) -> bool:
        try:
            await self.hub.run(self.hub.service.sessions.authenticate, self._token)
            return True
        except EscalationError:
            self._send({"type": "ended"})
            self.close(4401, "session ended")
            return False

    def _send(self, doc: dict) -> None:
        with contextlib.suppress(WebSocketClosedError):
            self.write_message(json.dumps(doc))

    def on_close(self) -> None:
        self.open_feeds.discard(self)
        if self._queue is not None:
            self.hub.events.unsubscribe(self._queue)
        for task in self._tasks:
            task.cancel()
