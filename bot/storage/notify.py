"""Signals between the processes of one service: PostgreSQL LISTEN/NOTIFY.

The escalation desk publishes what changed (metadata only, never content) and the outbox
says "a message is waiting"; every process that listens hears it at once instead of on
its next reload. With SQLite there is one process, and the signals stay in it.

A lost connection is re-made with back-off; on every (re)connection each listener gets a
``RESYNC`` signal, so it can catch up on whatever it may have missed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

import psycopg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

RESYNC = "\0resync"  # not a payload anyone sends: "you may have missed something"
QUEUE_SIZE = 500
RECONNECT_MAX_S = 10.0


class LocalNotifier:
    """One process: a signal goes straight to this process's listeners."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue]] = defaultdict(set)

    def subscribe(self, channel: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._queues[channel].add(queue)
        return queue

    async def notify(self, channel: str, payload: str = "") -> None:
        self._deliver(channel, payload)

    def _deliver(self, channel: str, payload: str) -> None:
        for queue in list(self._queues.get(channel, ())):
            with contextlib.suppress(asyncio.QueueFull):  # a stalled listener resyncs later
                queue.put_nowait(payload)

    async def run(self) -> None:
        await asyncio.Event().wait()


class PgNotifier(LocalNotifier):
    """Several processes on one PostgreSQL database."""

    def __init__(self, database_url: str) -> None:
        super().__init__()
        self._conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        self._sender: psycopg.AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self.connected = asyncio.Event()

    async def notify(self, channel: str, payload: str = "") -> None:
        """Tell every listening process (this one included, through its listener)."""
        async with self._lock:
            for attempt in range(2):  # one reconnection, then give up: polling catches up
                try:
                    if self._sender is None or self._sender.closed:
                        self._sender = await psycopg.AsyncConnection.connect(
                            self._conninfo, autocommit=True)
                    await self._sender.execute("SELECT pg_notify(%s, %s)", (channel, payload))
                    return
                except psycopg.Error as error:
                    self._sender = None
                    if attempt:
                        log.warning("could not signal other processes (%s)",
                                    type(error).__name__)

    async def run(self) -> None:
        """Listen until cancelled, reconnecting after a lost connection."""
        delay = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self._conninfo, autocommit=True) as connection:
                    for channel in list(self._queues):
                        await connection.execute(f'LISTEN "{channel}"')
                    self.connected.set()
                    delay = 0.5
                    for channel in list(self._queues):
                        self._deliver(channel, RESYNC)
                    async for note in connection.notifies():
                        self._deliver(note.channel, note.payload)
            except psycopg.Error as error:
                self.connected.clear()
                log.warning("lost the signal connection to PostgreSQL (%s): retrying in "
                            "%.1f s", type(error).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)


def notifier_for(database_url: str) -> LocalNotifier:
    return PgNotifier(database_url) if database_url.startswith("postgresql") else LocalNotifier()
