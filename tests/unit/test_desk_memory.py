"""The desk's memory of a user between messages, shared by bot workers: an intake begun on
one worker is continued on another, sealed at rest, forgotten on expiry and on a wipe."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.escalation.crypto import TamperError
from bot.escalation.desk import CounselorDesk
from bot.escalation.desk_memory import (
    INTAKE_TTL_S,
    Intake,
    LocalDeskMemory,
    SharedDeskMemory,
    UserDesk,
)
from bot.escalation.envelope import Keyring
from bot.escalation.tables import DeskMemoryRow
from tests.unit.test_escalation_desk import ADDRESS, USER, World

NOTE, PHONE = "anh ấy dọa sẽ quay lại tối nay", "0912 345 678"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _say(desk: CounselorDesk, text: str) -> list[str]:
    return [r.text for r in asyncio.run(desk.handle(USER, ADDRESS, text)) or ()]


def test_an_intake_begun_on_one_worker_is_finished_on_another(database, tmp_path):
    database.migrate()
    world = World(tmp_path)  # its cases on SQLite; the desks' memory on ``database``
    keyring, clock = Keyring.from_spec(Keyring.generate_spec()), Clock()
    one, two = (CounselorDesk(world.hub, world._transcript,  # noqa: SLF001
                              SharedDeskMemory(database, keyring, clock)) for _ in range(2))
    asyncio.run(one.note_turn(USER, "danger_now", "danger_now"))
    assert "/counselor_share_note" in [b.payload for r in asyncio.run(
        two.handle(USER, ADDRESS, "/counselor_start")) for b in r.buttons]
    assert "viết vài dòng" in _say(one, "/counselor_share_note")[0]
    assert "liên lạc" in _say(two, NOTE)[0], "the note typed on the other worker is taken"
    assert "số điện thoại" in _say(one, "/counselor_contact_call")[0]
    assert "lúc nào" in _say(two, PHONE)[0]
    confirm = _say(one, "/counselor_window_evening")[0]
    assert "đuôi 678" in confirm

    with database.session() as session:
        [row] = session.scalars(select(DeskMemoryRow)).all()
    stored = bytes(row.sealed) + row.wrapped.encode()
    assert NOTE.encode() not in stored and b"0912345678" not in stored and b"danger" not in stored

    memory = SharedDeskMemory(database, keyring, clock)
    desk = asyncio.run(memory.get(USER))
    assert desk.intake.note == NOTE and desk.intake.risk == "danger"
    clock.now += INTAKE_TTL_S + 1
    assert asyncio.run(memory.get(USER)).intake is None, "an intake lasts 30 minutes"
    clock.now -= INTAKE_TTL_S + 1
    asyncio.run(two.leave(USER))  # quick exit on either worker forgets it everywhere
    assert asyncio.run(memory.get(USER)).intake is None and memory.count() == 0


def test_a_row_sealed_for_one_user_does_not_open_for_another(database):
    database.migrate()
    keyring = Keyring.from_spec(Keyring.generate_spec())
    memory = SharedDeskMemory(database, keyring, Clock())
    asyncio.run(memory.put("p-a", UserDesk(Intake("high", note=NOTE, started=Clock()()))))
    with database.session() as session, session.begin():
        row = session.get(DeskMemoryRow, "p-a")
        session.add(DeskMemoryRow(pseudonym="p-b", wrapped=row.wrapped, sealed=row.sealed,
                                  expires_at=row.expires_at))
    with pytest.raises(TamperError):  # the AAD binds the row to its pseudonym
        asyncio.run(memory.get("p-b"))


def test_one_process_keeps_it_in_memory_and_forgets_it_on_time():
    clock = Clock()
    memory = LocalDeskMemory(clock)
    asyncio.run(memory.put(USER, UserDesk(risk="danger", risk_at=clock())))
    assert asyncio.run(memory.get(USER)).risk == "danger"
    clock.now += 2 * 3600 + 1
    assert asyncio.run(memory.get(USER)).risk == "standard"
