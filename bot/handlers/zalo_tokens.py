"""Zalo's tokens shared by several bot workers, in the database.

A refresh token works once. If each worker refreshed with its own copy, the first would win
and every other worker would be left with a dead token, unable to answer anyone on Zalo. So
the tokens are one sealed row (bot/storage/user_memory.py), and a refresh happens under a
PostgreSQL advisory lock: a worker that gets the lock re-reads the row and, if another worker
refreshed meanwhile, takes those tokens instead of refreshing again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text

from bot.escalation.envelope import Keyring
from bot.handlers.zalo_api import Tokens
from bot.storage.database import Database
from bot.storage.user_memory import SealedUserMemory

ROW = "oa"
LOCK_ID = 0x7A616C6F  # "zalo": one advisory lock for the refresh, service-wide
KEPT_S = 10 * 365 * 24 * 3600  # tokens do not expire here; Zalo says when they do


class SharedTokenStore:
    def __init__(self, database: Database, keyring: Keyring, initial: Tokens):
        self._db = database
        self._rows = SealedUserMemory(database, keyring, "zalo-tokens")
        self._initial = initial

    def load(self) -> Tokens:
        """The newest tokens any worker saved, else the environment's (blocking)."""
        kept = self._rows.read(ROW)
        if kept is None:
            return self._initial
        doc = json.loads(kept)
        return Tokens(doc["access"], doc["refresh"])

    def save(self, tokens: Tokens) -> None:
        self._rows.write(ROW, json.dumps({"access": tokens.access, "refresh": tokens.refresh}),
                         self._rows.clock() + KEPT_S)

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[Tokens]:
        """The current tokens while no other worker refreshes (their refresh waits here)."""
        connection = await asyncio.to_thread(self._db.engine.connect)
        try:
            await asyncio.to_thread(_locked, connection)
            yield await asyncio.to_thread(self.load)
        finally:
            await asyncio.to_thread(_unlocked, connection)


def _locked(connection) -> None:
    connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": LOCK_ID})
    connection.commit()


def _unlocked(connection) -> None:
    try:
        connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": LOCK_ID})
        connection.commit()
    finally:
        connection.close()
