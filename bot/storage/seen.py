"""Events already handled, kept for a replay window in the database so that a replayed
webhook is refused even after a restart (and, with PostgreSQL, by every worker).

Only a hash of the event id is kept. ``claim``/``finish`` serve Telegram, which redelivers
what was not acknowledged, and Zalo, whose repeats are replays. The worker that claims an
event holds it for a lease while it answers; a redelivery meanwhile is "busy" (answer 503 so
the platform tries again later); once finished it is "done" for the window; and if the
worker died, its lease runs out and the next delivery is claimed afresh. No update is lost
with a worker, and each is answered once, except one whose worker sent the reply and died
before ``finish``: nothing tells that apart from a worker that died before replying, so it
is answered again (at least once: a rare duplicate beats a reply lost to someone in need).

One chat's updates are also taken in order: an update whose chat still has an earlier one
in hand is told to "wait" until that one is finished (or its lease runs out). On
PostgreSQL the claims of one chat are serialised by a transaction-scoped advisory lock, so
two workers cannot both see "nothing earlier" at the same moment."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError

from bot.storage.database import Database
from bot.storage.models import SeenEvent

log = logging.getLogger(__name__)
WAIT_TURN_S = 0.05  # how often an event whose chat is busy asks again


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class SeenEvents:
    def __init__(self, database: Database, ttl: dt.timedelta,
                 clock: Callable[[], dt.datetime] = _utcnow):
        self._db = database
        self._ttl = ttl
        self._clock = clock

    def claim(self, channel: str, event_id: str, lease: dt.timedelta, chat: str | None = None,
              seq: int | None = None) -> Literal["new", "busy", "done", "wait"]:
        """Take the event for ``lease`` unless another worker holds it, it was handled, or
        an earlier event of the same ``chat`` (by ``seq``) is still in hand."""
        key = _key(channel, event_id)
        now = self._clock()
        try:
            with self._db.session() as session, session.begin():
                if chat is not None and self._db.engine.dialect.name == "postgresql":
                    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:chat))"),
                                    {"chat": chat})
                row = session.get(SeenEvent, key)
                if row is not None and not row.done and row.expires_at < now:
                    log.warning("%s: taking over an event whose worker stopped answering",
                                channel)
                session.execute(delete(SeenEvent).where(SeenEvent.expires_at < now))
                if row is not None and row.expires_at >= now:
                    if row.done:
                        log.info("%s: an event delivered again was answered before", channel)
                    return "done" if row.done else "busy"
                if chat is not None and seq is not None and session.scalar(
                        select(func.count()).select_from(SeenEvent).where(
                            SeenEvent.chat == chat, SeenEvent.done.is_(False),
                            SeenEvent.seq < seq)):
                    return "wait"
                session.add(SeenEvent(key=key, expires_at=now + lease, done=False, chat=chat,
                                      seq=seq))
        except IntegrityError:  # another worker claimed it at the same moment
            return "busy"
        return "new"

    async def claim_in_turn(self, channel: str, event_id: str, lease: dt.timedelta,
                            chat: str | None, seq: int | None,
                            waiting: Callable[[], Awaitable[None]] | None = None,
                            ) -> Literal["new", "busy", "done"]:
        """``claim``, waiting while the chat's earlier events are in hand (asking again every
        ``WAIT_TURN_S``); a worker that died holding one delays the chat until its lease runs
        out, no longer, and then this one is "busy" (the platform may deliver it again).
        ``waiting`` runs once when the event has to wait: a message from someone in danger
        gets its emergency reply then, not after the turn before it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + lease.total_seconds()
        told = False
        while True:
            state = await asyncio.to_thread(self.claim, channel, event_id, lease, chat, seq)
            if state != "wait":
                return state
            if waiting is not None and not told:
                told = True
                await waiting()
            if loop.time() > deadline:
                return "busy"
            await asyncio.sleep(WAIT_TURN_S)

    def finish(self, channel: str, event_id: str) -> None:
        """Handled: refuse redeliveries for the rest of the window."""
        with self._db.session() as session, session.begin():
            row = session.get(SeenEvent, _key(channel, event_id))
            if row is not None:
                row.done = True
                row.chat = row.seq = None  # order no longer matters: forget the chat
                row.expires_at = self._clock() + self._ttl


def _key(channel: str, event_id: str) -> str:
    return hashlib.sha256(f"{channel}\0{event_id}".encode()).hexdigest()
