"""Rasa's place in unit tests of the core (the real Rasa runs in tests/integration)."""

from __future__ import annotations

from bot.rasa_client import NluAnswer
from bot.replies import Reply


class ScriptedRasa:
    """Rasa's place in a unit test of the core: it answers everything with a menu and
    records what reached it (the real Rasa is in tests/integration)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.forgotten: list[str] = []

    async def send(self, sender: str, text: str) -> NluAnswer:
        self.seen.append(text)
        return NluAnswer("ask_menu", 0.9, (Reply("Mình có thể giúp gì?"),))

    async def forget(self, sender: str) -> bool:
        self.forgotten.append(sender)
        return not self.unreachable

    unreachable = False  # set True: Rasa cannot be told to forget
    in_flight = 0  # RasaClient's load gauge; the core sends 113 at once when it is high

    async def transcript(self, sender: str, limit: int = 40) -> list[dict]:
        return []
