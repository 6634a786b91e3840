"""A custom action that answers with one message from content/."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.content_source import store


def send_message(dispatcher: CollectingDispatcher, key: str) -> None:
    """Utter content message ``key`` with its contact lines and buttons."""
    text, buttons = store.get().render(key)
    dispatcher.utter_message(
        text=text, buttons=[{"title": b.title, "payload": b.payload} for b in buttons]
    )


class ContentAction(Action, ABC):
    """Subclasses set the class attributes ``action_name`` and ``message_key``."""

    message_key: str

    @property
    @abstractmethod
    def action_name(self) -> str:
        """Abstract so rasa-sdk does not register this base class as an action."""

    def name(self) -> str:
        return self.action_name

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        send_message(dispatcher, self.message_key)
        return []
