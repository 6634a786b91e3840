"""Small writes collected and committed together, after the reply has gone out.

Per-turn statistics used to cost a SQLite commit on the reply path of every
message. Here they wait in memory for up to ``delay`` seconds and are written
in one transaction on a worker thread. A crash loses at most that window of
statistics, never an answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from bot.storage.database import Database

log = logging.getLogger(__name__)

Write = Callable[[Session], None]


class WriteBehind:
    def __init__(self, database: Database, delay: float = 0.5):
        self._db = database
        self._delay = delay
        self._pending: list[Write] = []
        self._flusher: asyncio.Task | None = None
        # One commit at a time: two batches committed at once could both insert the same
        # new participant (the timer's flush racing a drain at shutdown or before a wipe).
        self._committing = asyncio.Lock()

    def add(self, write: Write) -> None:
        """Queue a write; call from the event loop. It is committed within ``delay`` s."""
        self._pending.append(write)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_later())

    async def _flush_later(self) -> None:
        while self._pending:  # what arrived during a commit goes in the next one
            await asyncio.sleep(self._delay)
            await self.flush()

    async def flush(self) -> None:
        """Commit everything queued so far (before a wipe, and on shutdown)."""
        async with self._committing:
            batch, self._pending = self._pending, []
            if batch:
                await asyncio.to_thread(self._commit, batch)

    def _commit(self, batch: list[Write]) -> None:
        try:
            with self._db.session() as session, session.begin():
                for write in batch:
                    write(session)
        except Exception as error:  # statistics must never cost a user their answer
            # The type only: a database error quotes the statement's parameters.
            log.error("could not write %d queued rows (%s)", len(batch), type(error).__name__)
