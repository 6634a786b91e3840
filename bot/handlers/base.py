"""The one small interface every channel implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from bot.core import ConversationCore


class Channel(ABC):
    name: ClassVar[str]

    def __init__(self, core: ConversationCore):
        self.core = core

    @abstractmethod
    async def serve(self) -> None:
        """Receive messages and answer them until the input ends or the task is cancelled."""
