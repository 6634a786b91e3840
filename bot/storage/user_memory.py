"""Short-lived memory of one user between two messages (the counselor intake in progress,
the numbered options Zalo showed last), as text with an expiry time.

One process keeps it in a dictionary (``LocalUserMemory``). Several bot workers share it in
the database (``SealedUserMemory``), because a user's next message may reach another
worker. A shared row is sealed under a data key of its own, wrapped by the environment's key
(``ANTAM_DATA_KEYS``) and bound to its namespace and pseudonym; it is never read after it
expires, and expired rows are deleted at most once a minute.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.escalation.envelope import Keyring, new_dek, open_field, seal_field
from bot.storage.database import Database
from bot.storage.models import UserMemoryRow

SWEEP_EVERY_S = 60


class LocalUserMemory:
    """One process: a dictionary, swept of what expired at most once a minute."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._kept: dict[str, tuple[str, float]] = {}  # pseudonym -> (text, expires)
        self._swept = clock()

    async def get(self, pseudonym: str) -> str | None:
        self._sweep()
        text, expires = self._kept.get(pseudonym, (None, 0.0))
        return text if expires > self.clock() else None

    async def put(self, pseudonym: str, text: str, expires: float) -> None:
        self._kept[pseudonym] = (text, expires)

    async def drop(self, pseudonym: str) -> None:
        self._kept.pop(pseudonym, None)

    def _sweep(self) -> None:
        now = self.clock()
        if now - self._swept >= SWEEP_EVERY_S:
            self._swept = now
            self._kept = {p: kept for p, kept in self._kept.items() if kept[1] > now}


class SealedUserMemory:
    """Several workers: one sealed row per user and ``namespace`` in the database."""

    def __init__(self, database: Database, keyring: Keyring, namespace: str,
                 clock: Callable[[], float] = time.time):
        self.clock = clock
        self._db = database
        self._keyring = keyring
        self._namespace = namespace
        self._swept = float("-inf")

    async def get(self, pseudonym: str) -> str | None:
        return await asyncio.to_thread(self.read, pseudonym)

    async def put(self, pseudonym: str, text: str, expires: float) -> None:
        await asyncio.to_thread(self.write, pseudonym, text, expires)

    async def drop(self, pseudonym: str) -> None:
        await asyncio.to_thread(self._drop, pseudonym)

    def count(self) -> int:
        with self._db.session() as session:
            return len(session.scalars(select(UserMemoryRow.key)).all())

    def _key(self, pseudonym: str) -> str:
        return f"{self._namespace}:{pseudonym}"

    def read(self, pseudonym: str) -> str | None:
        """What is kept for ``pseudonym`` (blocking: call off the event loop)."""
        key = self._key(pseudonym)
        with self._db.session() as session:
            row = session.get(UserMemoryRow, key)
            if row is None or row.expires_at <= _utc(self.clock()):
                return None
            dek = self._keyring.unwrap(row.wrapped, key)
            return open_field(dek, row.sealed, key.encode()).decode()

    def write(self, pseudonym: str, text: str, expires: float) -> None:
        """Keep ``text`` until ``expires`` (blocking: call off the event loop)."""
        key, dek = self._key(pseudonym), new_dek()
        values = {"key": key, "wrapped": self._keyring.wrap(dek, key),
                  "sealed": seal_field(dek, text.encode(), key.encode()),
                  "expires_at": _utc(expires)}
        insert = pg_insert if self._db.engine.dialect.name == "postgresql" else sqlite_insert
        upsert = insert(UserMemoryRow).values(**values).on_conflict_do_update(
            index_elements=["key"], set_={k: v for k, v in values.items() if k != "key"})
        with self._db.session() as session, session.begin():
            session.execute(upsert)
            now = self.clock()
            if now - self._swept >= SWEEP_EVERY_S:
                self._swept = now
                session.execute(delete(UserMemoryRow)
                                .where(UserMemoryRow.expires_at <= _utc(now)))

    def _drop(self, pseudonym: str) -> None:
        with self._db.session() as session, session.begin():
            session.execute(delete(UserMemoryRow)
                            .where(UserMemoryRow.key == self._key(pseudonym)))


UserMemory = LocalUserMemory | SealedUserMemory


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)
