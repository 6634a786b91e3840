"""Which chat messages a quick exit may delete, per pseudonym, for 48 hours.

Telegram offers no way to read or clear a chat, so the bot must remember the
message ids it may delete. It keeps only the numbers, under the pseudonym,
and forgets them when Telegram would no longer allow the deletion anyway.
"""

from __future__ import annotations

import datetime as dt
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

    def remember(self, pseudonym: str, message_ids: list[int]) -> None:
        expires = self._clock() + DELETABLE_FOR
        with self._db.session() as session, session.begin():
            session.add_all(ExitMessage(pseudonym=pseudonym, message_id=m, expires_at=expires)
                            for m in message_ids)

    def take_all(self, pseudonym: str) -> list[int]:
        """The still-deletable ids, forgotten as they are handed out."""
        with self._db.session() as session, session.begin():
            self._purge_expired(session)
            rows = session.scalars(select(ExitMessage.message_id)
                                   .where(ExitMessage.pseudonym == pseudonym)
                                   .order_by(ExitMessage.message_id)).all()
            session.execute(delete(ExitMessage).where(ExitMessage.pseudonym == pseudonym))
        return list(rows)

    def _purge_expired(self, session) -> None:
        session.execute(delete(ExitMessage).where(ExitMessage.expires_at <= self._clock()))
