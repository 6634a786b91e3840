"""What the counselor desk remembers of a user between two messages: the intake in
progress, the highest risk seen lately, and when a relayed message was last acknowledged.

One process keeps it in memory. Several bot workers share it as sealed rows in the database
(bot/storage/user_memory.py), because a user's next message or button press may reach another
worker, and an intake may hold a note or a phone number. It is forgotten when it expires, when
the intake ends, and with a quick exit or /xoa.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from bot.storage.user_memory import LocalUserMemory, UserMemory

INTAKE_TTL_S = 30 * 60
RISK_MEMORY_S = 2 * 3600
ACK_EVERY_S = 60


@dataclass
class Intake:
    risk: str
    step: str = "share"  # share → (note) → contact → (phone → window) → confirm
    share: str | None = None
    note: str | None = None
    method: str | None = None
    phone: str | None = None
    window: str | None = None
    discreet: bool = True
    reminders: int = 1
    started: float = 0.0  # wall-clock seconds: workers share it


@dataclass
class UserDesk:
    intake: Intake | None = None
    risk: str = "standard"
    risk_at: float = 0.0
    acked_at: float = field(default=float("-inf"))

    def fresh(self, now: float) -> UserDesk:
        """What is still worth remembering at ``now``."""
        intake = self.intake if self.intake and now - self.intake.started <= INTAKE_TTL_S else None
        risk, risk_at = ((self.risk, self.risk_at) if now - self.risk_at < RISK_MEMORY_S
                         else ("standard", 0.0))
        acked_at = self.acked_at if now - self.acked_at < ACK_EVERY_S else float("-inf")
        return UserDesk(intake, risk, risk_at, acked_at)

    def empty(self) -> bool:
        return self.intake is None and self.risk == "standard" and self.acked_at == float("-inf")

    def expires(self) -> float:
        ends = [self.acked_at + ACK_EVERY_S]
        if self.intake is not None:
            ends.append(self.intake.started + INTAKE_TTL_S)
        if self.risk != "standard":
            ends.append(self.risk_at + RISK_MEMORY_S)
        return max(ends)

    def as_json(self) -> str:
        doc = asdict(self)
        doc["acked_at"] = None if self.acked_at == float("-inf") else self.acked_at
        return json.dumps(doc)

    @classmethod
    def from_json(cls, text: str) -> UserDesk:
        doc = json.loads(text)
        intake = Intake(**doc["intake"]) if doc.get("intake") else None
        acked = doc.get("acked_at")
        return cls(intake, doc["risk"], doc["risk_at"],
                   float("-inf") if acked is None else acked)


class DeskMemory:
    """The desk's memory of each user, kept in a user memory (bot/storage/user_memory.py):
    a dictionary in one process, sealed rows when several workers share the work."""

    def __init__(self, store: UserMemory | None = None):
        self._store = store or LocalUserMemory()
        self.clock = self._store.clock

    async def get(self, pseudonym: str) -> UserDesk:
        text = await self._store.get(pseudonym)
        return UserDesk.from_json(text).fresh(self.clock()) if text else UserDesk()

    async def put(self, pseudonym: str, desk: UserDesk) -> None:
        if desk.empty():
            await self._store.drop(pseudonym)
        else:
            await self._store.put(pseudonym, desk.as_json(), desk.expires())

    async def drop(self, pseudonym: str) -> None:
        await self._store.drop(pseudonym)
