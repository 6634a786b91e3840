"""Messages the bot sends outside a user's turn: relayed replies and notifications.

Each messenger channel registers how it sends to an address ("telegram:<chat
id>", "zalo:<user id>"); escalation code only knows addresses, never a
platform's API.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.replies import Reply

log = logging.getLogger(__name__)

# (chat id, reply, silent): a silent message arrives without sound or a lock-screen alert
# where the platform allows it.
Sender = Callable[[str, Reply, bool], Awaitable[None]]


def address(channel: str, chat_id: str | int) -> str:
    return f"{channel}:{chat_id}"


class Outbox:
    def __init__(self) -> None:
        self._senders: dict[str, Sender] = {}

    def register(self, channel: str, send: Sender) -> None:
        self._senders[channel] = send

    async def send(self, to: str, reply: Reply, silent: bool = False) -> bool:
        """Send one message; False (logged without the address) when it cannot go out."""
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
