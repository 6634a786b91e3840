"""Messages the bot sends outside a user's turn: relayed replies and notifications.

Each messenger channel registers how it sends to an address ("telegram:<chat
id>", "zalo:<user id>"); escalation code only knows addresses, never a
platform's API.

With a store (the service's database), every message is kept, sealed, before it is sent,
and deleted once sent. A process that serves the channel sends it at once; otherwise (the
counselors' API runs apart from the bot workers) it signals the workers, and whichever
serves the channel claims and sends it. A failed send is retried with back-off, and a
worker that dies holding a message lets its lease run out, so another sends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.escalation.outbox_store import OutboxStore, Pending
from bot.replies import Reply
from bot.storage.notify import LocalNotifier

log = logging.getLogger(__name__)

# (chat id, reply, silent): a silent message arrives without sound or a lock-screen alert
# where the platform allows it.
Sender = Callable[[str, Reply, bool], Awaitable[None]]
WAKE = "antam_outbox"
POLL_S = 2.0  # a missed signal costs at most this long


def address(channel: str, chat_id: str | int) -> str:
    return f"{channel}:{chat_id}"


class Outbox:
    def __init__(self, store: OutboxStore | None = None,
                 notifier: LocalNotifier | None = None) -> None:
        self._senders: dict[str, Sender] = {}
        self._store = store
        self._notifier = notifier or LocalNotifier()
        self._wake = self._notifier.subscribe(WAKE)

    def register(self, channel: str, send: Sender) -> None:
        self._senders[channel] = send

    async def send(self, to: str, reply: Reply, silent: bool = False) -> bool:
        """Send one message, or accept it for a worker that serves its channel. False
        (logged without the address) when it can be neither sent nor kept."""
        channel = to.partition(":")[0]
        local = channel in self._senders
        if self._store is None:
            return await self._deliver(to, reply, silent)
        try:
            row_id = await asyncio.to_thread(self._store.add, to, reply, silent, local)
        except Exception as error:  # the database is away: send directly if we can
            log.error("outbox: could not keep a message (%s)", type(error).__name__)
            return await self._deliver(to, reply, silent)
        if not local:
            await self._notifier.notify(WAKE)
            return True
        try:
            await self._settle(Pending(row_id, to, reply, silent, 0))
        except Exception as error:  # sent or not, the row's lease decides what happens next
            log.error("outbox: could not settle a message (%s)", type(error).__name__)
        return True

    async def run(self) -> None:
        """Send what other processes accepted for the channels this one serves."""
        if self._store is None:
            return
        while True:
            with contextlib.suppress(Exception):  # the database may be away: next round
                for pending in await asyncio.to_thread(self._store.claim, tuple(self._senders)):
                    await self._settle(pending)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.get(), timeout=POLL_S)

    async def depth(self) -> int:
        return await asyncio.to_thread(self._store.depth) if self._store else 0

    async def _settle(self, pending: Pending) -> None:
        if await self._deliver(pending.to, pending.reply, pending.silent):
            await asyncio.to_thread(self._store.done, pending.id)
        elif not await asyncio.to_thread(self._store.retry, pending.id, pending.attempts):
            log.error("outbox: a message failed too often and was dropped")

    async def _deliver(self, to: str, reply: Reply, silent: bool) -> bool:
        channel, _, chat_id = to.partition(":")
        sender = self._senders.get(channel)
        if sender is None or not chat_id:
            log.warning("no %s channel to deliver an escalation message", channel or "?")
            return False
        try:
            await sender(chat_id, reply, silent)
            return True
        except Exception as error:  # one failed delivery must not stop the others
            log.error("escalation delivery via %s failed: %s", channel, type(error).__name__)
            return False
