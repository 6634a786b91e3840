"""The safety net never waits in line: with Rasa saturated (here: holding every answer
until the test lets it go), a message the net flags gets the emergency reply at once,
and the model's answer follows when it comes. No timing threshold: the test holds
Rasa, checks what has been sent, then releases it."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from telegram import Update

from bot.core import ConversationCore, IncomingMessage
from bot.handlers.telegram import TelegramChannel, TelegramSettings
from bot.handlers.zalo import ZaloChannel, ZaloSettings
from bot.rasa_client import NluAnswer, NluUnavailable
from bot.replies import Button, Reply
from bot.safety import SafetyNet
from bot.storage import Database, ExitLog
from bot.storage.seen import SeenEvents
from common.content import ContentStore
from common.textnorm import load_lexicon
from tests.fakes.rasa import ScriptedRasa
from tests.fakes.telegram_api import TelegramStandIn
from tests.fakes.zalo_api import ZaloStandIn
from tests.helpers import ROOT

CERTAIN = "chồng tôi đang đánh tôi"  # typed with its marks: the net is certain
UNCERTAIN = "toi dang bi danh"  # bare letters: "bị đánh" or "bí danh"
MODEL_REPLY = "Câu trả lời của mô hình"
LEXICON = load_lexicon(ROOT / "nlu" / "lexicon" / "abbreviations.yml")


class HeldRasa(ScriptedRasa):
    """A saturated Rasa: it answers only when the test opens the gate."""

    def __init__(self, answer: NluAnswer | None = None) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.answer = answer or NluAnswer(
            "ask_menu", 0.9, (Reply(MODEL_REPLY, (Button("Xem thêm", "@more:guide:evidence"),)),))

    async def send(self, sender: str, text: str) -> NluAnswer:
        self.seen.append(text)
        await self.gate.wait()
        if self.answer is None:
            raise NluUnavailable("down")
        return self.answer


def _database(tmp_path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    database.migrate()
    return database


def _core(rasa, tmp_path, patience: float = 0.0,
          database: Database | None = None) -> ConversationCore:
    content = ContentStore(ROOT / "content")
    return ConversationCore(rasa, content, SafetyNet(content, LEXICON),
                            database or _database(tmp_path), "k", crisis_patience=patience)


async def _turn_with_rasa_held(core, rasa, text: str):
    """(what was sent early while Rasa held its answer, the turn's result after)."""
    early: list[Reply] = []
    arrived = asyncio.Event()

    async def send_early(reply: Reply) -> None:
        early.append(reply)
        arrived.set()

    turn = asyncio.create_task(core.handle(IncomingMessage("telegram", "u1", text),
                                           early=send_early))
    await asyncio.wait_for(arrived.wait(), timeout=30)
    assert not turn.done() and not rasa.gate.is_set(), "sent while Rasa still held the turn"
    sent_while_held = list(early)
    rasa.gate.set()
    return sent_while_held, await turn


@pytest.mark.parametrize("text, patience, queued", [
    (CERTAIN, 60.0, 0),  # certain: never waits
    (UNCERTAIN, 0.0, 0),  # uncertain: waits out the patience
    (UNCERTAIN, 60.0, 5),  # uncertain with Rasa saturated: does not wait at all
])
def test_a_flagged_message_gets_the_emergency_reply_before_rasa_answers(tmp_path, text,
                                                                        patience, queued):
    async def scenario():
        rasa = HeldRasa()
        rasa.in_flight = queued
        early, result = await _turn_with_rasa_held(_core(rasa, tmp_path, patience), rasa,
                                                   text)
        assert len(early) == 1 and "113" in early[0].text
        assert [r.text for r in result.replies] == [MODEL_REPLY], "the model's answer follows"
        assert result.crisis and result.entries[0] == "message:crisis_danger"

    asyncio.run(scenario())


def test_an_uncertain_match_is_still_weighed_by_a_model_that_answers_in_time(tmp_path):
    async def scenario():
        rasa = HeldRasa()
        rasa.gate.set()  # answers at once; the patience is far longer
        early: list[Reply] = []

        async def send_early(reply: Reply) -> None:
            early.append(reply)

        result = await _core(rasa, tmp_path, patience=60.0).handle(
            IncomingMessage("telegram", "u1", UNCERTAIN), early=send_early)
        assert early == [] and not result.crisis, "a calm reading overrules bare letters"

    asyncio.run(scenario())


def test_rasa_failing_after_the_early_reply_adds_no_second_one(tmp_path):
    async def scenario():
        rasa = HeldRasa()
        rasa.answer = None
        early, result = await _turn_with_rasa_held(_core(rasa, tmp_path), rasa, CERTAIN)
        assert "113" in early[0].text
        assert result.replies == () and result.crisis and result.degraded

    asyncio.run(scenario())


def test_without_an_early_sender_the_reply_comes_first_in_the_answer(tmp_path):
    async def scenario():
        rasa = HeldRasa()
        rasa.gate.set()
        result = await _core(rasa, tmp_path).handle(IncomingMessage("console", "u1", CERTAIN))
        assert "113" in result.replies[0].text and result.replies[1].text == MODEL_REPLY

    asyncio.run(scenario())


CHAT = 5550007771234


def test_on_telegram_the_emergency_reply_arrives_while_rasa_is_saturated(tmp_path):
    rasa, database = HeldRasa(), _database(tmp_path)
    core = _core(rasa, tmp_path, database=database)

    async def scenario(standin: TelegramStandIn) -> None:
        channel = TelegramChannel(core, TelegramSettings(token=standin.token,
                                                         base_url=standin.base_url),
                                  ExitLog(database))
        async with channel.application:
            standin.user_message(CHAT, CERTAIN)
            update = Update.de_json(standin.call("getUpdates", {})[1]["result"][0],
                                    channel.application.bot)
            turn = asyncio.create_task(channel.application.process_update(update))
            first = (await standin.wait_for_sent_async(CHAT, 1))[0]
            assert "113" in first["text"] and not rasa.gate.is_set()
            rasa.gate.set()
            await turn
            texts = [m["text"] for m in await standin.wait_for_sent_async(CHAT, 2)]
            assert texts[1] == MODEL_REPLY and sum("113" in t for t in texts) == 1

    with TelegramStandIn() as standin:
        asyncio.run(scenario(standin))


ZALO_USER = "zalo-user-4242"


async def _first_text(api: ZaloStandIn) -> None:
    while not api.texts_to(ZALO_USER):
        await asyncio.sleep(0.01)


def test_on_zalo_the_early_reply_is_numbered_and_the_answer_continues_the_numbers(tmp_path):
    rasa, database = HeldRasa(), _database(tmp_path)
    core = _core(rasa, tmp_path, database=database)

    async def scenario(api: ZaloStandIn) -> None:
        settings = ZaloSettings("app", "oa-secret", api.app_secret, api.access, api.refresh,
                                api_base=api.base_url, oauth_base=api.base_url)
        channel = ZaloChannel(core, settings, tmp_path,
                              SeenEvents(database, dt.timedelta(minutes=10)))
        turn = asyncio.create_task(channel._converse(ZALO_USER, CERTAIN))
        await asyncio.wait_for(_first_text(api), timeout=30)
        emergency = api.texts_to(ZALO_USER)[0]
        assert "113" in emergency and "[1]" in emergency and not rasa.gate.is_set()
        rasa.gate.set()
        await turn
        answer = api.texts_to(ZALO_USER)[1]
        numbered = emergency.count("\n[") - emergency.count("\n[/")
        assert answer.startswith(MODEL_REPLY) and f"[{numbered + 1}] Xem thêm" in answer
        await channel.client.close()

    with ZaloStandIn() as api:
        asyncio.run(scenario(api))
