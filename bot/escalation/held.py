"""Discreet delivery: what the desk would send a user who asked for it, held here until
they tap "Xem", so the lock screen shows only a neutral notice.

Held messages are envelope-encrypted under the user's data key (the server must read them
back to deliver them), deleted once shown, on quick exit, and shredded by /xoa.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from sqlalchemy import delete, select

from bot.escalation.tables import HeldMessage
from bot.escalation.vault import SubjectVault
from bot.replies import Button, Reply
from bot.storage import Database

PURPOSE = "held"


class HeldMessages:
    def __init__(self, database: Database, vault: SubjectVault,
                 clock: Callable[[], dt.datetime]):
        self._db = database
        self._vault = vault
        self._clock = clock

    def hold(self, subject: str, reply: Reply) -> None:
        doc = {"text": reply.text, "buttons": [[b.title, b.payload] for b in reply.buttons]}
        with self._db.session() as session, session.begin():
            sealed = self._vault.seal(session, subject, PURPOSE,
                                      json.dumps(doc, ensure_ascii=False))
            session.add(HeldMessage(subject=subject, sealed=sealed, created_at=self._clock()))

    def take(self, subject: str) -> list[Reply]:
        """Every held message of the subject, oldest first, deleted as it is handed out."""
        with self._db.session() as session, session.begin():
            rows = session.scalars(select(HeldMessage).where(HeldMessage.subject == subject)
                                   .order_by(HeldMessage.id)).all()
            replies = []
            for row in rows:
                text = self._vault.open(session, subject, PURPOSE, row.sealed)
                if text is not None:
                    doc = json.loads(text)
                    replies.append(Reply(doc["text"], tuple(Button(t, p)
                                                            for t, p in doc["buttons"])))
                session.delete(row)
        return replies

    def drop(self, subject: str) -> int:
        """Quick exit and /xoa: nothing held may reappear on that phone."""
        with self._db.session() as session, session.begin():
            return session.execute(delete(HeldMessage).where(
                HeldMessage.subject == subject)).rowcount
