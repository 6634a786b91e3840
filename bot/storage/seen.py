"""Events already handled, kept for a replay window in the database so that a replayed
webhook is refused even after a restart (and, with PostgreSQL, by every worker)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot.storage.database import Database
from bot.storage.models import SeenEvent


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class SeenEvents:
    def __init__(self, database: Database, ttl: dt.timedelta,
                 clock: Callable[[], dt.datetime] = _utcnow):
        self._db = database
        self._ttl = ttl
        self._clock = clock

    def first_time(self, channel: str, event_id: str) -> bool:
        """True once per (channel, id) within the window (blocking: call off the loop).
        Only a hash is kept: the id says nothing about anyone."""
        key = hashlib.sha256(f"{channel}\0{event_id}".encode()).hexdigest()
        now = self._clock()
        try:
            with self._db.session() as session, session.begin():
                session.execute(delete(SeenEvent).where(SeenEvent.expires_at < now))
                session.add(SeenEvent(key=key, expires_at=now + self._ttl))
        except IntegrityError:
            return False
        return True
