"""What the counselor desk remembers of a user between two messages: the intake in
progress, the highest risk seen lately, and when a relayed message was last acknowledged.

One process keeps it in memory (``LocalDeskMemory``). Several bot workers share it in the
database (``SharedDeskMemory``), because a user's next message or button press may reach
another worker. A shared row is sealed under a data key of its own, wrapped by the
environment's key, since an intake may hold a note or a phone number; it is deleted once
expired, when the intake ends, and with a quick exit or /xoa.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.escalation.envelope import Keyring, new_dek, open_field, seal_field
from bot.escalation.tables import DeskMemoryRow
from bot.storage import Database

INTAKE_TTL_S = 30 * 60
RISK_MEMORY_S = 2 * 3600
ACK_EVERY_S = 60
SWEEP_EVERY_S = 60


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


class LocalDeskMemory:
    """One process: a dictionary, swept of what expired at most once a minute."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._users: dict[str, UserDesk] = {}
        self._swept = clock()

    async def get(self, pseudonym: str) -> UserDesk:
        self._sweep()
        return self._users.get(pseudonym, UserDesk()).fresh(self.clock())

    async def put(self, pseudonym: str, desk: UserDesk) -> None:
        if desk.empty():
            self._users.pop(pseudonym, None)
        else:
            self._users[pseudonym] = desk

    async def drop(self, pseudonym: str) -> None:
        self._users.pop(pseudonym, None)

    def _sweep(self) -> None:
        now = self.clock()
        if now - self._swept < SWEEP_EVERY_S:
            return
        self._swept = now
        self._users = {p: d for p, d in self._users.items() if not d.fresh(now).empty()}


class SharedDeskMemory:
    """Several workers: one sealed row per user in the database."""

    def __init__(self, database: Database, keyring: Keyring,
                 clock: Callable[[], float] = time.time):
        self.clock = clock
        self._db = database
        self._keyring = keyring
        self._swept = float("-inf")

    async def get(self, pseudonym: str) -> UserDesk:
        return await asyncio.to_thread(self._get, pseudonym)

    async def put(self, pseudonym: str, desk: UserDesk) -> None:
        await asyncio.to_thread(self._put, pseudonym, desk)

    async def drop(self, pseudonym: str) -> None:
        await asyncio.to_thread(self._drop, pseudonym)

    def _get(self, pseudonym: str) -> UserDesk:
        now = self.clock()
        with self._db.session() as session:
            row = session.get(DeskMemoryRow, pseudonym)
            if row is None or row.expires_at <= _utc(now):
                return UserDesk()
            dek = self._keyring.unwrap(row.wrapped, _aad(pseudonym))
            text = open_field(dek, row.sealed, _aad(pseudonym).encode())
        return UserDesk.from_json(text.decode()).fresh(now)

    def _put(self, pseudonym: str, desk: UserDesk) -> None:
        if desk.empty():
            self._drop(pseudonym)
            return
        dek = new_dek()
        values = {"pseudonym": pseudonym, "wrapped": self._keyring.wrap(dek, _aad(pseudonym)),
                  "sealed": seal_field(dek, desk.as_json().encode(), _aad(pseudonym).encode()),
                  "expires_at": _utc(desk.expires())}
        insert = pg_insert if self._db.engine.dialect.name == "postgresql" else sqlite_insert
        upsert = insert(DeskMemoryRow).values(**values).on_conflict_do_update(
            index_elements=["pseudonym"],
            set_={k: v for k, v in values.items() if k != "pseudonym"})
        with self._db.session() as session, session.begin():
            session.execute(upsert)
            self._sweep(session)

    def _drop(self, pseudonym: str) -> None:
        with self._db.session() as session, session.begin():
            session.execute(delete(DeskMemoryRow).where(DeskMemoryRow.pseudonym == pseudonym))

    def _sweep(self, session) -> None:
        now = self.clock()
        if now - self._swept >= SWEEP_EVERY_S:
            self._swept = now
            session.execute(delete(DeskMemoryRow).where(DeskMemoryRow.expires_at <= _utc(now)))

    def count(self) -> int:
        with self._db.session() as session:
            return len(session.scalars(select(DeskMemoryRow.pseudonym)).all())


def _aad(pseudonym: str) -> str:
    return f"desk:{pseudonym}"


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)
