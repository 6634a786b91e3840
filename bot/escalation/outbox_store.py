"""The outbox's rows: sealed, claimed with a lease, deleted once sent.

A row is claimed by moving its ``due_at`` past the lease; a process that dies while holding
it simply lets the lease run out, and another process sends it. On PostgreSQL the claim
skips rows another process has locked, so two workers never take the same row.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select

from bot.escalation.envelope import Keyring, new_dek, open_field, seal_field
from bot.escalation.tables import OutboxMessage
from bot.replies import Button, Reply
from bot.storage import Database

LEASE = dt.timedelta(seconds=30)  # a claimed row is someone's for this long
MAX_ATTEMPTS = 6
# A message no process could send in this time (its channel is no longer served) is dropped.
STALE_AFTER = dt.timedelta(hours=24)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Pending:
    id: int
    to: str  # "telegram:<chat id>"
    reply: Reply
    silent: bool
    attempts: int


class OutboxStore:
    def __init__(self, database: Database, keyring: Keyring,
                 clock: Callable[[], dt.datetime] = _utcnow):
        self._db = database
        self._keyring = keyring
        self._clock = clock

    def add(self, to: str, reply: Reply, silent: bool, claimed: bool) -> int:
        """Keep the message; ``claimed``: the caller sends it now and holds the lease."""
        uid = secrets.token_hex(16)
        dek = new_dek()
        body = json.dumps({"to": to, "text": reply.text, "silent": silent,
                           "buttons": [[b.title, b.payload] for b in reply.buttons]})
        now = self._clock()
        row = OutboxMessage(uid=uid, channel=to.partition(":")[0],
                            wrapped=self._keyring.wrap(dek, f"outbox:{uid}"),
                            sealed=seal_field(dek, body.encode(), f"outbox\0{uid}".encode()),
                            created_at=now, due_at=now + LEASE if claimed else now, attempts=0)
        with self._db.session() as session, session.begin():
            session.add(row)
            session.flush()
            return row.id

    def claim(self, channels: tuple[str, ...], limit: int = 20) -> list[Pending]:
        """Rows due for the channels this process serves, now leased to it."""
        if not channels:
            return []
        now = self._clock()
        with self._db.session() as session, session.begin():
            session.execute(delete(OutboxMessage)
                            .where(OutboxMessage.created_at < now - STALE_AFTER))
            query = (select(OutboxMessage)
                     .where(OutboxMessage.channel.in_(channels), OutboxMessage.due_at <= now)
                     .order_by(OutboxMessage.id).limit(limit))
            if self._db.engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list(session.scalars(query))
            for row in rows:
                row.due_at = now + LEASE
            return [self._open(row) for row in rows]

    def done(self, row_id: int) -> None:
        with self._db.session() as session, session.begin():
            session.execute(delete(OutboxMessage).where(OutboxMessage.id == row_id))

    def retry(self, row_id: int, attempts: int) -> bool:
        """Try again later (backing off); False when it has failed too often and is dropped."""
        with self._db.session() as session, session.begin():
            row = session.get(OutboxMessage, row_id)
            if row is None:
                return False
            if attempts + 1 >= MAX_ATTEMPTS:
                session.delete(row)
                return False
            row.attempts = attempts + 1
            row.due_at = self._clock() + dt.timedelta(seconds=2 ** (attempts + 1))
            return True

    def depth(self) -> int:
        with self._db.session() as session:
            return len(session.scalars(select(OutboxMessage.id)).all())

    def _open(self, row: OutboxMessage) -> Pending:
        dek = self._keyring.unwrap(row.wrapped, f"outbox:{row.uid}")
        body = json.loads(open_field(dek, row.sealed, f"outbox\0{row.uid}".encode()))
        reply = Reply(body["text"], tuple(Button(t, p) for t, p in body["buttons"]))
        return Pending(row.id, body["to"], reply, bool(body["silent"]), row.attempts)
