"""Which chat messages a quick exit may delete, per pseudonym, for 48 hours.

Telegram offers no way to read or clear a chat, so the bot must remember the
message ids it may delete. It keeps only the numbers, under the pseudonym,
and forgets them when Telegram would no longer allow the deletion anyway.

``remember`` only notes ids in memory, so no commit sits on the reply path;
the channel calls ``flush`` every second or so. Everything that reads or
deletes ids takes the pending ones into account, under one lock, so a quick
exit or a wipe never misses an id still in memory, and a flush can never
write an id back after a wipe.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from sqlalchemy import delete, select

from bot.storage.database import Database
from bot.storage.models import ExitMessage

DELETABLE_FOR = dt.timedelta(hours=48)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class ExitLog:
    def __init__(self, database: Database, clock: Callable[[], dt.datetime] = _utcnow):
        self._db = database
        self._clock = clock
        self._lock = threading.Lock()  # serialises flushes, quick exits and wipes
        self._pending: list[tuple[str, int, dt.datetime]] = []

    def remember(self, pseudonym: str, message_ids: list[int]) -> None:
        """Note ids to delete on a quick exit (in memory until the next flush)."""
        expires = self._clock() + DELETABLE_FOR
        with self._lock:
            self._pending.extend((pseudonym, m, expires) for m in message_ids)

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def flush(self) -> None:
        """Write the noted ids in one transaction (blocking: run it off the event loop)."""
        with self._lock:
            self._write_pending()

    def take_all(self, pseudonym: str) -> list[int]:
        """The still-deletable ids, forgotten as they are handed out."""
        with self._lock:
            self._write_pending()
            with self._db.session() as session, session.begin():
                self._purge_expired(session)
                rows = session.scalars(select(ExitMessage.message_id)
                                       .where(ExitMessage.pseudonym == pseudonym)
                                       .order_by(ExitMessage.message_id)).all()
                session.execute(delete(ExitMessage).where(ExitMessage.pseudonym == pseudonym))
        return list(rows)

    def forget(self, pseudonym: str) -> None:
        """Drop every id of this pseudonym, pending or stored (the user wiped their data)."""
        with self._lock:
            self._pending = [p for p in self._pending if p[0] != pseudonym]
            with self._db.session() as session, session.begin():
                session.execute(delete(ExitMessage).where(ExitMessage.pseudonym == pseudonym))

    def _write_pending(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            with self._db.session() as session, session.begin():
                session.add_all(ExitMessage(pseudonym=p, message_id=m, expires_at=e)
                                for p, m, e in batch)
        except Exception:
            self._pending = batch + self._pending  # kept for the next try
            raise

    def _purge_expired(self, session) -> None:
        session.execute(delete(ExitMessage).where(ExitMessage.expires_at <= self._clock()))
