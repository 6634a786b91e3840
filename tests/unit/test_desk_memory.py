"""What a worker remembers of a user between messages, shared by bot workers: an intake
begun on one worker is continued on another, sealed at rest, forgotten on expiry and on a
wipe; a Zalo option shown by one worker is understood by another."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from bot.core import ConversationCore
from bot.escalation.crypto import TamperError
from bot.escalation.desk import CounselorDesk
from bot.escalation.desk_memory import INTAKE_TTL_S, DeskMemory, Intake, UserDesk
from bot.escalation.envelope import Keyring
from bot.handlers.zalo import ZaloChannel, ZaloSettings
from bot.rasa_client import NluAnswer
from bot.replies import Button, Reply
from bot.safety import SafetyNet
from bot.storage.models import UserMemoryRow
from bot.storage.seen import SeenEvents
from bot.storage.user_memory import LocalUserMemory, SealedUserMemory
from common.content import ContentStore
from common.textnorm import load_lexicon
from tests.fakes.rasa import ScriptedRasa
from tests.fakes.zalo_api import ZaloStandIn
from tests.helpers import ROOT
from tests.unit.test_escalation_desk import ADDRESS, USER, World

NOTE, PHONE = "anh ấy dọa sẽ quay lại tối nay", "0912 345 678"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _shared(database, keyring: Keyring, clock: Clock) -> DeskMemory:
    return DeskMemory(SealedUserMemory(database, keyring, "desk", clock))


def _say(desk: CounselorDesk, text: str) -> list[str]:
    return [r.text for r in asyncio.run(desk.handle(USER, ADDRESS, text)) or ()]


def test_an_intake_begun_on_one_worker_is_finished_on_another(database, tmp_path):
    database.migrate()
    world = World(tmp_path)  # its cases on SQLite; the desks' memory on ``database``
    keyring, clock = Keyring.from_spec(Keyring.generate_spec()), Clock()
    one, two = (CounselorDesk(world.hub, world._transcript,  # noqa: SLF001
                              _shared(database, keyring, clock)) for _ in range(2))
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
        [row] = session.scalars(select(UserMemoryRow)).all()
    stored = bytes(row.sealed) + row.wrapped.encode()
    assert NOTE.encode() not in stored and b"0912345678" not in stored and b"danger" not in stored

    memory = _shared(database, keyring, clock)
    desk = asyncio.run(memory.get(USER))
    assert desk.intake.note == NOTE and desk.intake.risk == "danger"
    clock.now += INTAKE_TTL_S + 1
    assert asyncio.run(memory.get(USER)).intake is None, "an intake lasts 30 minutes"
    clock.now -= INTAKE_TTL_S + 1
    asyncio.run(two.leave(USER))  # quick exit on either worker forgets it everywhere
    assert asyncio.run(memory.get(USER)).intake is None
    assert SealedUserMemory(database, keyring, "desk").count() == 0


def test_a_row_sealed_for_one_user_does_not_open_for_another(database):
    database.migrate()
    keyring = Keyring.from_spec(Keyring.generate_spec())
    memory = _shared(database, keyring, Clock())
    asyncio.run(memory.put("p-a", UserDesk(Intake("high", note=NOTE, started=Clock()()))))
    with database.session() as session, session.begin():
        row = session.get(UserMemoryRow, "desk:p-a")
        session.add(UserMemoryRow(key="desk:p-b", wrapped=row.wrapped, sealed=row.sealed,
                                  expires_at=row.expires_at))
    with pytest.raises(TamperError):  # the AAD binds the row to its pseudonym
        asyncio.run(memory.get("p-b"))


def test_one_process_keeps_it_in_memory_and_forgets_it_on_time():
    clock = Clock()
    memory = DeskMemory(LocalUserMemory(clock))
    asyncio.run(memory.put(USER, UserDesk(risk="danger", risk_at=clock())))
    assert asyncio.run(memory.get(USER)).risk == "danger"
    clock.now += 2 * 3600 + 1
    assert asyncio.run(memory.get(USER)).risk == "standard"


class _MenuRasa(ScriptedRasa):
    """Answers with two numbered options on Zalo."""

    async def send(self, sender: str, text: str) -> NluAnswer:
        self.seen.append(text)
        return NluAnswer("ask_menu", 0.9, (Reply("Bạn muốn xem gì?", (
            Button("Luật", "/ask_law"), Button("Đường dây nóng", "/ask_hotline"))),))


def test_a_zalo_option_shown_by_one_worker_is_picked_on_another(database, tmp_path):
    database.migrate()
    keyring, rasa = Keyring.from_spec(Keyring.generate_spec()), _MenuRasa()
    content = ContentStore(ROOT / "content")
    core = ConversationCore(rasa, content, SafetyNet(content, load_lexicon(
        ROOT / "nlu/lexicon/abbreviations.yml")), database, "k")

    async def scenario(api: ZaloStandIn) -> None:
        settings = ZaloSettings("app", "oa-secret", api.app_secret, api.access, api.refresh,
                                api_base=api.base_url, oauth_base=api.base_url)
        one, two = (ZaloChannel(core, settings, tmp_path, SeenEvents(database, dt.timedelta(
            minutes=10)), SealedUserMemory(database, keyring, "zalo-options")) for _ in "12")
        await one._converse("zalo-user", "menu")  # noqa: SLF001 - a worker's turn
        assert "[2] Đường dây nóng" in api.texts_to("zalo-user")[-1]
        await two._converse("zalo-user", "2")  # noqa: SLF001
        for channel in (one, two):
            await channel.client.close()

    with ZaloStandIn() as api:
        asyncio.run(scenario(api))
    assert rasa.seen == ["menu", "/ask_hotline"], "the other worker knew what 2 meant"
