"""Zalo end to end: signed webhooks into the channel, the real stack behind the
core, replies through a Zalo OA API stand-in."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from bot.app import build_database, build_escalation, build_zalo
from bot.config import Settings
from bot.escalation.crypto import PrivateIdentity, b64e
from bot.handlers.zalo import SIGNATURE_HEADER, signature
from bot.pseudonym import pseudonymise
from tests.escalation_support import enrol
from tests.fakes.zalo_api import ZaloStandIn
from tests.helpers import free_port, until_listening

pytestmark = pytest.mark.stack
APP_ID, OA_SECRET = "zalo-app-1", "oa-secret-key"
USER = "zalo-user-8800"


@pytest.fixture
def zalo(stack, monkeypatch, tmp_path):
    with ZaloStandIn() as api:
        for key in ("ANTAM_RASA_PORT", "ANTAM_ACTIONS_PORT"):
            monkeypatch.setenv(key, stack.env[key])
        monkeypatch.setenv("ANTAM_VAR_DIR", str(stack.var_dir))
        port = free_port()
        for key, value in {"ZALO_APP_ID": APP_ID, "ZALO_OA_SECRET_KEY": OA_SECRET,
                           "ZALO_APP_SECRET": api.app_secret, "ZALO_ACCESS_TOKEN": api.access,
                           "ZALO_REFRESH_TOKEN": api.refresh, "ZALO_API_BASE": api.base_url,
                           "ZALO_OAUTH_BASE": api.base_url,
                           "ZALO_WEBHOOK_PORT": str(port)}.items():
            monkeypatch.setenv(key, value)
        (stack.var_dir / "zalo-tokens.json").unlink(missing_ok=True)
        yield api, port


def _event(text: str, msg_id: str, age_s: float = 0.0) -> bytes:
    return json.dumps({
        "app_id": APP_ID, "event_name": "user_send_text", "sender": {"id": USER},
        "recipient": {"id": "oa-1"}, "message": {"text": text, "msg_id": msg_id},
        "timestamp": str(int((time.time() - age_s) * 1000)),
    }, ensure_ascii=False).encode()


def _signed(body: bytes, secret: str = OA_SECRET) -> dict:
    timestamp = json.loads(body)["timestamp"]
    return {SIGNATURE_HEADER: f"mac={signature(APP_ID, body, timestamp, secret)}"}


async def _post(port: int, body: bytes, headers: dict) -> int:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"http://127.0.0.1:{port}/zalo/webhook", content=body,
                                     headers=headers)
        return response.status_code


async def _until(predicate, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


def test_signed_messages_are_answered_and_forged_or_replayed_ones_are_not(zalo):
    api, port = zalo

    async def scenario():
        channel = build_zalo(Settings.from_env())
        task = asyncio.create_task(channel.serve())
        await until_listening(port)
        try:
            hello = _event("xin chào", "m1")
            assert await _post(port, hello, _signed(hello)) == 200
            await _until(lambda: api.texts_to(USER))
            assert "An Tâm" in api.texts_to(USER)[0] and "[1]" in api.texts_to(USER)[0]

            assert await _post(port, hello, _signed(hello)) == 200  # replay: same msg_id
            forged = _event("toi bi danh", "m2")
            assert await _post(port, forged, _signed(forged, "wrong-secret")) == 401
            assert await _post(port, forged, {}) == 401
            stale = _event("toi bi danh", "m3", age_s=3600)
            assert await _post(port, stale, _signed(stale)) == 401
            await asyncio.sleep(1.0)
            assert len(api.texts_to(USER)) == 1, "nothing answered but the first message"

            crisis = _event("ck dang danh e", "m4")
            await _post(port, crisis, _signed(crisis))
            await _until(lambda: len(api.texts_to(USER)) >= 2)
            assert "113" in api.texts_to(USER)[1]

            api.expire_access_token()  # the next send must refresh under the lock
            option = _event("1", "m5")  # "1" presses the first option of the last reply
            await _post(port, option, _signed(option))
            await _until(lambda: len(api.texts_to(USER)) >= 3)
            assert api.refreshes == 1

            leave = _event("/quick_exit", "m6")
            await _post(port, leave, _signed(leave))
            await _until(lambda: any("không cho phép mình xóa" in t for t in api.texts_to(USER)))

            sticker = json.loads(_event("", "m7"))
            sticker["event_name"] = "user_send_sticker"
            sticker = json.dumps(sticker).encode()
            before = len(api.texts_to(USER))
            assert await _post(port, sticker, _signed(sticker)) == 200
            await _until(lambda: len(api.texts_to(USER)) > before)
            assert "chữ" in api.texts_to(USER)[-1]  # a kind pointer to typing instead

            wipe = _event("/delete_my_data", "m8")
            await _post(port, wipe, _signed(wipe))
            await _until(lambda: len(api.texts_to(USER)) > before + 1)
            assert "xóa" in api.texts_to(USER)[-1]
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    saved = json.loads((Settings.from_env().var_dir / "zalo-tokens.json").read_text())
    assert saved["refresh"] == api.refresh, "the rotated refresh token was kept"

    async def after_a_restart():
        channel = build_zalo(Settings.from_env())  # a new process: nothing in memory
        task = asyncio.create_task(channel.serve())
        await until_listening(port)
        try:
            before = len(api.texts_to(USER))
            replayed = _event("xin chào", "m1")  # freshly signed, but handled before
            assert await _post(port, replayed, _signed(replayed)) == 200
            fresh = _event("cho tôi xin số đường dây nóng", "m9")
            assert await _post(port, fresh, _signed(fresh)) == 200
            await _until(lambda: len(api.texts_to(USER)) > before)
            await _until(lambda: "1800 1233" in api.texts_to(USER)[-1])
            assert len(api.texts_to(USER)) == before + 1  # the replay got no answer
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(after_a_restart())


def test_on_zalo_a_digit_after_a_counselor_message_answers_the_counselor(zalo, tmp_path,
                                                                         monkeypatch):
    """Numbers press options only in the reply to the user's own message; a counselor's
    message offers typed commands, and ending a chat takes a confirmed choice."""
    api, port = zalo
    admin = PrivateIdentity.generate()
    monkeypatch.setenv("ANTAM_ADMIN_KEYS", b64e(admin.public().ed25519))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'escalation.db'}")

    async def say(text: str, msg_id: str) -> str:
        before = len(api.texts_to(USER))
        body = _event(text, msg_id)
        assert await _post(port, body, _signed(body)) == 200
        await _until(lambda: len(api.texts_to(USER)) > before)
        return api.texts_to(USER)[before]  # each of these turns answers with one message

    async def scenario():
        settings = Settings.from_env()
        database = build_database(settings)
        hub = build_escalation(settings, database)
        _, principal = enrol(hub.service, admin, "Chị Lan")
        task = asyncio.create_task(build_zalo(settings, database, hub).serve())
        await until_listening(port)
        try:
            for n, step in enumerate(("/counselor_start", "/counselor_share_nothing",
                                      "/counselor_contact_chat", "/counselor_confirm")):
                await say(step, f"i{n}")
            code = hub.service.cases.active_case(_subject()).code
            await hub.claim(principal, code)
            await hub.counselor_reply(principal, code, "Nhà em có mấy người?")
            notice = api.texts_to(USER)[-1]  # discreet by default: nothing to read on it
            assert notice.startswith("Bạn có tin nhắn mới.") and "[/xem] Xem" in notice
            await say("/xem", "r0")
            await _until(lambda: "Nhà em có mấy người?" in api.texts_to(USER)[-1])
            relayed = api.texts_to(USER)[-1]
            assert "[/thoat] Thoát nhanh" in relayed and "[1]" not in relayed
            await say("1", "r1")  # an answer, not a button
            items = hub.service.cases.read(principal, code)["items"]
            assert [i["direction"] for i in items] == ["case", "counselor", "user"]
            confirm = await say("/ketthuc", "r2")
            assert "[1] Có, kết thúc" in confirm
            assert hub.service.cases.active_case(_subject()).status == "claimed"
            assert "kết thúc" in await say("1", "r3")
            assert hub.service.cases.active_case(_subject()) is None
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())


def _subject() -> str:
    return f"user:{pseudonymise(Settings.from_env().pseudonym_key, 'zalo', USER)}"


@pytest.fixture
def zalo_without_rasa(monkeypatch, tmp_path):
    """The Zalo channel with nothing listening where Rasa should be."""
    with ZaloStandIn() as api:
        port = free_port()
        for key, value in {"ANTAM_VAR_DIR": str(tmp_path), "ANTAM_RASA_PORT": str(free_port()),
                           "ZALO_APP_ID": APP_ID, "ZALO_OA_SECRET_KEY": OA_SECRET,
                           "ZALO_APP_SECRET": api.app_secret, "ZALO_ACCESS_TOKEN": api.access,
                           "ZALO_REFRESH_TOKEN": api.refresh, "ZALO_API_BASE": api.base_url,
                           "ZALO_OAUTH_BASE": api.base_url,
                           "ZALO_WEBHOOK_PORT": str(port)}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("DATABASE_URL", raising=False)
        yield api, port


def test_with_rasa_down_a_zalo_user_still_gets_help_and_a_crisis_the_emergency_numbers(
        zalo_without_rasa):
    api, port = zalo_without_rasa

    async def scenario():
        task = asyncio.create_task(build_zalo(Settings.from_env()).serve())
        await until_listening(port)
        try:
            question = _event("cho toi hoi ve quyen cua minh", "d1")
            await _post(port, question, _signed(question))
            await _until(lambda: api.texts_to(USER))
            crisis = _event("ck dang danh e", "d2")
            await _post(port, crisis, _signed(crisis))
            await _until(lambda: len(api.texts_to(USER)) >= 2)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    apology, emergency = api.texts_to(USER)[:2]
    assert "Xin lỗi" in apology and "1900 969 680" in apology
    assert "113" in emergency and "115" in emergency
