"""The user's side of asking for a counselor: intake, queue, relay, cancel, wipe."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from sqlalchemy import select

from bot.core import ConversationCore, IncomingMessage
from bot.escalation import crypto
from bot.escalation.crypto import PrivateIdentity, SealContext
from bot.escalation.desk import CounselorDesk, normalise_phone
from bot.escalation.errors import Conflict
from bot.escalation.hub import EscalationHub
from bot.escalation.outbox import Outbox
from bot.escalation.policy import EscalationPolicy
from bot.escalation.service import ServerKeys, build_service
from bot.escalation.tables import Case, CaseItem, SubjectKey
from bot.escalation.wrapup import WrapUp
from bot.pseudonym import pseudonymise
from bot.rasa_client import NluAnswer
from bot.replies import Reply
from bot.safety import SafetyNet
from bot.storage import Database
from common.content import ContentStore, render
from tests.escalation_support import admin_principal, enrol, revocations
from tests.fakes.rasa import ScriptedRasa
from tests.helpers import ROOT

USER = "p-user"
ADDRESS = "telegram:5550001234567"
COUNSELOR_CHAT = "5550009876543"


class World:
    """A real service on SQLite, the real content, and an outbox that records deliveries."""

    def __init__(self, tmp_path):
        database = Database(f"sqlite:///{tmp_path / 'antam.db'}")
        database.migrate()
        self.database = database
        self.admin = PrivateIdentity.generate()
        self.now = dt.datetime(2026, 11, 29, 8, 0)
        self.service = build_service(database, ServerKeys.ephemeral(),
                                     (self.admin.public().ed25519,), EscalationPolicy(),
                                     clock=lambda: self.now)
        content = ContentStore(ROOT / "content")
        self.delivered: list[tuple[str, str]] = []
        self.sent: list[tuple[str, bool, Reply]] = []
        outbox = Outbox()
        outbox.register("telegram", self._record)
        self.hub = EscalationHub(self.service, outbox, lambda key: render(content.get(), key))
        self.desk = CounselorDesk(self.hub, self._transcript)

    async def _record(self, chat_id: str, reply: Reply, silent: bool = False) -> None:
        self.delivered.append((chat_id, reply.text))
        self.sent.append((chat_id, silent, reply))

    async def _transcript(self, pseudonym: str) -> list[dict]:
        return [{"from": "user", "text": "chồng tôi đánh tôi"}]

    def counselor(self, name: str = "Chị Lan", role: str = "counselor",
                  chat: str = COUNSELOR_CHAT, alias: str | None = "Lan"):
        return enrol(self.service, self.admin, name, role, f"telegram:{chat}", alias)

    def say(self, text: str) -> list[str]:
        replies = asyncio.run(self.desk.handle(USER, ADDRESS, text))
        return [r.text for r in replies or ()]


@pytest.fixture
def world(tmp_path) -> World:
    return World(tmp_path)


def _buttons(world: World, text: str) -> list[str]:
    replies = asyncio.run(world.desk.handle(USER, ADDRESS, text))
    return [b.payload for r in replies for b in r.buttons]


@pytest.mark.parametrize("typed, expected", [
    ("0912 345 678", "0912345678"), ("+84 912.345.678", "0912345678"),
    ("84912345678", "0912345678"), ("12345", None), ("số của tôi", None)])
def test_phone_numbers_are_checked(typed, expected):
    assert normalise_phone(typed) == expected


def test_call_back_request_reaches_counselors_with_code_and_risk_only(world):
    identity, principal = world.counselor()
    asyncio.run(world.desk.note_turn(USER, "danger_now", "danger_now"))
    assert "/counselor_share_note" in _buttons(world, "/counselor_start")
    assert "viết vài dòng" in world.say("/counselor_share_note")[0]
    assert "liên lạc" in world.say("anh ấy dọa sẽ quay lại tối nay")[0]
    assert "số điện thoại" in world.say("/counselor_contact_call")[0]
    assert "chưa đúng" in world.say("123")[0]
    assert "lúc nào" in world.say("0912 345 678")[0]
    confirm = world.say("/counselor_window_evening")[0]
    assert "đuôi 678" in confirm and "19:00–21:00" in confirm and "0912" not in confirm
    queued = world.say("/counselor_confirm")[0]
    code = world.service.cases.active_case(f"user:{USER}").code
    assert code in queued and "113" in queued
    [(chat, note)] = world.delivered
    assert chat == COUNSELOR_CHAT and code in note and "KHẨN CẤP" in note
    assert "dọa" not in note and "0912" not in note
    world.service.cases.claim(principal, code)
    case = world.service.cases.read(principal, code)
    body = json.loads(crypto.open_sealed(case["items"][0]["sealed"], identity,
                                         SealContext(case["case_id"], 0, "case")))
    assert body["note"] == "anh ấy dọa sẽ quay lại tối nay"
    assert body["contact"] == {"method": "callback", "phone": "0912345678",
                               "window": "Tối 19:00–21:00"}
    assert body["risk"] == "danger" and body["transcript"] == []


def _request(world: World, *toggles: str) -> str:
    for step in ("/counselor_start", "/counselor_share_transcript", "/counselor_contact_chat",
                 *toggles, "/counselor_confirm"):
        world.say(step)
    return world.service.cases.active_case(f"user:{USER}").code


def test_discreet_by_default_the_lock_screen_shows_only_a_neutral_notice(world):
    _, principal = world.counselor(name="Nguyễn Thị Lan", alias="Mai")
    world.say("/counselor_start")
    world.say("/counselor_share_nothing")
    confirm = world.say("/counselor_contact_chat")[0]
    assert "Bạn có tin nhắn mới" in confirm and "nhắc một lần" in confirm
    code = _request(world)
    asyncio.run(world.hub.claim(principal, code))
    asyncio.run(world.hub.counselor_reply(principal, code, "Em có an toàn không?"))
    to_user = [t for chat, t in world.delivered if chat == "5550001234567"]
    assert to_user == ["Bạn có tin nhắn mới.", "Bạn có tin nhắn mới."]
    shown = world.say("/counselor_show")  # the user tapped "Xem"
    assert shown == [f"Tư vấn viên Mai đã nhận yêu cầu {code}. Từ bây giờ, những gì bạn nhắn "
                     "ở đây sẽ được chuyển tới tư vấn viên. Bạn có thể kết thúc bất cứ lúc nào.",
                     "Tư vấn viên Mai: Em có an toàn không?"]
    assert not any("Lan" in text for text in shown)  # the alias, never the real name
    assert world.say("/counselor_show") == ["Hiện không có tin nhắn mới."]  # shown once


def test_relay_after_a_claim_and_the_user_can_end_it(world):
    identity, principal = world.counselor()
    code = _request(world, "/counselor_toggle_discreet")  # the user chose to see text at once
    asyncio.run(world.hub.claim(principal, code))
    assert "Tư vấn viên Lan" in world.delivered[-1][1]
    assert world.delivered[-1][0] == "5550001234567"
    assert world.say("em vẫn ở đây") == ["Đã chuyển tới tư vấn viên. Họ sẽ trả lời bạn tại đây."]
    assert world.say("anh ấy về rồi") == []  # no receipt for every line
    assert world.delivered[-1] == (COUNSELOR_CHAT, f"Có tin nhắn mới trong ca {code}.")
    asyncio.run(world.hub.counselor_reply(principal, code, "Em có an toàn không?"))
    assert world.delivered[-1] == ("5550001234567", "Tư vấn viên Lan: Em có an toàn không?")
    assert "kết thúc" in world.say("/counselor_end")[0]  # a question, not the end yet
    assert world.say("/counselor_continue") and world.service.cases.active_case(
        f"user:{USER}").status == "claimed"
    world.say("/counselor_end")
    assert "kết thúc" in world.say("/counselor_end_confirm")[0]
    assert code in world.delivered[-1][1] and world.delivered[-1][0] == COUNSELOR_CHAT
    assert asyncio.run(world.desk.handle(USER, ADDRESS, "còn ai không")) is None  # back to Rasa


def test_cancel_at_any_step_and_no_second_case(world):
    world.counselor()
    world.say("/counselor_start")
    world.say("/counselor_share_nothing")
    assert "Đã hủy" in world.say("/counselor_cancel")[0]
    assert world.service.cases.active_case(f"user:{USER}") is None
    world.say("/counselor_start")
    world.say("/counselor_share_nothing")
    world.say("/counselor_contact_chat")
    world.say("/counselor_confirm")
    code = world.service.cases.active_case(f"user:{USER}").code
    assert code in world.say("/counselor_start")[0]  # already waiting: no duplicate


def test_without_an_approved_counselor_the_user_gets_hotlines(world):
    world.say("/counselor_start")
    world.say("/counselor_share_nothing")
    world.say("/counselor_contact_chat")
    reply = world.say("/counselor_confirm")[0]
    assert "chưa có tư vấn viên" in reply and "1900 969 680" in reply


def test_wiping_ends_the_case_and_forgets_the_intake(world):
    world.counselor()
    world.say("/counselor_start")
    world.say("/counselor_share_nothing")
    world.say("/counselor_contact_chat")
    world.say("/counselor_confirm")
    asyncio.run(world.desk.forget(USER))
    assert world.service.cases.active_case(f"user:{USER}") is None
    assert asyncio.run(world.desk.handle(USER, ADDRESS, "xin chào")) is None


def test_a_waiting_case_renotifies_tells_the_user_then_reaches_a_supervisor(world):
    world.counselor()
    world.counselor("Anh Minh", "supervisor", chat="5550005550000")
    world.say("/counselor_start")
    world.say("/counselor_share_nothing")
    world.say("/counselor_contact_chat")
    world.say("/counselor_confirm")
    code = world.service.cases.active_case(f"user:{USER}").code
    world.delivered.clear()
    world.now += dt.timedelta(minutes=6)
    asyncio.run(world.hub.tick())
    to = {chat: text for chat, text in world.delivered}
    assert code in to[COUNSELOR_CHAT] and "chưa có ai nhận" in to[COUNSELOR_CHAT]
    [(silent, notice)] = [(q, r) for chat, q, r in world.sent if chat == "5550001234567"]
    assert silent and notice.text == "Bạn có tin nhắn mới."  # no sound, nothing readable
    [held] = world.say("/counselor_show")
    assert code in held and "1900 969 680" in held
    assert not any("Chuyển cấp" in text for text in to.values())
    world.delivered.clear()
    world.sent.clear()
    world.now += dt.timedelta(minutes=10)
    asyncio.run(world.hub.tick())
    escalations = [(c, t) for c, t in world.delivered if t.startswith("Chuyển cấp")]
    assert escalations == [("5550005550000", f"Chuyển cấp: ca {code} (mức nguy cơ: thông "
                                             "thường) chưa có ai nhận sau 15 phút.")]
    for _ in range(10):  # an hour more: counselors are reminded, the user never again
        world.now += dt.timedelta(minutes=6)
        asyncio.run(world.hub.tick())
    assert [chat for chat, _, _ in world.sent if chat == "5550001234567"] == []
    assert sum(chat == COUNSELOR_CHAT for chat, _, _ in world.sent) >= 10


def test_a_user_who_wants_no_reminder_gets_none(world):
    world.counselor()
    code = _request(world, "/counselor_toggle_remind")
    world.now += dt.timedelta(minutes=6)
    asyncio.run(world.hub.tick())
    assert code in [t for chat, t in world.delivered if chat == COUNSELOR_CHAT][-1]
    assert [chat for chat, _ in world.delivered if chat == "5550001234567"] == []


# --------------------------------------------------------------------------- through the core


@pytest.fixture
def core(world, tmp_path) -> tuple[ConversationCore, ScriptedRasa]:
    rasa = ScriptedRasa()
    content = ContentStore(ROOT / "content")
    world.desk = CounselorDesk(world.hub, rasa.transcript)
    return ConversationCore(rasa, content, SafetyNet(content, {}), world.database, "k",
                            world.desk), rasa


def _turn(core: ConversationCore, text: str):
    return asyncio.run(core.handle(IncomingMessage("telegram", CHAT, text)))


def _live_case(world: World, core: ConversationCore) -> tuple[str, PrivateIdentity, object]:
    identity, principal = world.counselor()
    for step in ("/counselor_start", "/counselor_share_nothing", "/counselor_contact_chat",
                 "/counselor_confirm"):
        _turn(core, step)
    code = world.service.cases.active_case(SUBJECT).code
    asyncio.run(world.hub.claim(principal, code))
    return code, identity, principal


CHAT = "5550001234567"
SUBJECT = f"user:{pseudonymise('k', 'telegram', CHAT)}"


@pytest.mark.parametrize("typed", ["/thoat", "/quick_exit", "Thoát nhanh", "thoat nhanh"])
def test_quick_exit_in_a_live_chat_ends_the_relay_and_the_counselor_learns_only_that(
        world, core, typed):
    core, rasa = core
    code, identity, principal = _live_case(world, core)
    world.delivered.clear()
    result = _turn(core, typed)
    assert result.actions == ("quick_exit",)
    assert world.delivered == [(COUNSELOR_CHAT,
                                f"Ca {code}: người dùng đã rời cuộc trò chuyện. "
                                "Hãy ghi kết quả ca.")]
    case = world.service.cases.read(principal, code)
    assert [i["item"] for i in case["items"]] == [0]  # the command was not relayed
    assert case["case"]["status"] == "ended" and rasa.forgotten
    _turn(core, "còn ai không")
    assert rasa.seen[-1] == "còn ai không"  # the next message goes to the bot
    with pytest.raises(Conflict, match="ended"):  # nothing more reaches that phone
        asyncio.run(world.hub.counselor_reply(principal, code, "Em còn đó không?"))


@pytest.mark.parametrize("state", ["intake", "waiting", "live", "ended"])
def test_quick_exit_and_wipe_work_in_every_state_even_with_rasa_silent(world, core, state):
    core, rasa = core
    if state == "intake":
        world.counselor()
        _turn(core, "/counselor_start")
        _turn(core, "/counselor_share_note")  # the next text would be taken as the note
    elif state == "waiting":
        world.counselor()
        for step in ("/counselor_start", "/counselor_share_nothing", "/counselor_contact_chat",
                     "/counselor_confirm"):
            _turn(core, step)
    else:
        code, _, principal = _live_case(world, core)
        if state == "ended":
            asyncio.run(world.hub.close(principal, code, WrapUp("information_given")))
    rasa.seen.clear()
    assert _turn(core, "/thoat").actions == ("quick_exit",)
    assert world.service.cases.active_case(SUBJECT) is None
    wiped = _turn(core, "/xoa")
    assert wiped.actions == ("delete_my_data",) and "Đã xong" in wiped.replies[0].text
    assert rasa.seen == []  # neither command waited on Rasa


def test_every_message_the_desk_sends_the_user_offers_quick_exit(world, core):
    core, _ = core
    code, _, principal = _live_case(world, core)
    asyncio.run(world.hub.counselor_reply(principal, code, "Em có an toàn không?"))
    world.now += dt.timedelta(minutes=1)
    asyncio.run(world.hub.close(principal, code, WrapUp("information_given")))
    to_user = [reply for chat, _, reply in world.sent if chat == CHAT]
    assert len(to_user) == 3  # claimed, the counselor's words, the end notice
    assert all("/quick_exit" in [b.payload for b in r.buttons] for r in to_user)


def test_when_the_holder_is_removed_the_user_is_told_and_the_case_waits_again(world):
    _, principal = world.counselor()
    code = _request(world, "/counselor_toggle_discreet")
    asyncio.run(world.hub.claim(principal, code))
    world.delivered.clear()
    admin = admin_principal(world.service, world.admin)
    asyncio.run(world.hub.remove_staff(admin, principal.staff_id, revocations(
        world.service, world.admin, principal.staff_id, "removed")))
    [to_user] = [t for chat, t in world.delivered if chat == "5550001234567"]
    assert code in to_user and "hàng chờ" in to_user
    assert world.service.cases.active_case(f"user:{USER}").status == "queued"


def test_after_xoa_nothing_of_the_case_is_left_in_the_sqlite_files(world, core, tmp_path):
    """secure_delete zeroes deleted rows in the database file, but the WAL keeps copies of
    the pages until a checkpoint: /xoa checkpoints and truncates it."""
    core, _ = core
    code, _, principal = _live_case(world, core)
    _turn(core, "anh ấy cầm dao đứng ngoài cửa")  # relayed, sealed
    with world.database.session() as session:
        wrapped = session.scalars(select(SubjectKey.wrapped)
                                  .where(SubjectKey.subject == SUBJECT)).all()
        sealed = [json.loads(s)["ciphertext"] for s in session.scalars(select(CaseItem.sealed))]
        routing = session.scalar(select(Case.routing))
    secrets = [w.split(".", 1)[1][:40] for w in wrapped] + [c[:40] for c in sealed]
    secrets.append(routing[:24])
    assert _turn(core, "/xoa").replies[0].text.startswith("Đã xong")
    files = list(tmp_path.glob("antam.db*"))
    assert any(f.name == "antam.db-wal" for f in files) or len(files) == 1
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            needle = secret if isinstance(secret, bytes) else secret.encode()
            assert needle not in data, f"left in {path.name}"


def test_xoa_never_claims_success_when_a_part_could_not_be_deleted(world, core):
    core, rasa = core
    _live_case(world, core)
    rasa.unreachable = True
    result = _turn(core, "/xoa")
    assert result.actions == ("delete_my_data",)
    assert "chưa xóa được hết" in result.replies[0].text and "Đã xong" not in \
        result.replies[0].text
    assert world.service.cases.active_case(SUBJECT) is None  # the rest went through


class _AskingForACounselor(ScriptedRasa):
    """Rasa reading "request_counselor", answered by its own guide or by a specific entry."""

    def __init__(self, customs: dict) -> None:
        super().__init__()
        self.customs = customs

    async def send(self, sender: str, text: str) -> NluAnswer:
        self.seen.append(text)
        return NluAnswer("request_counselor", 0.8, (Reply("Câu trả lời của mục nội dung"),),
                         (self.customs,))


@pytest.mark.parametrize("customs, kept", [
    ({"entries": ["guide:who_knows"], "instead_of": "guide:counselor"}, True),
    ({"entries": ["guide:counselor"], "instead_of": None}, False),
])
def test_a_question_about_counselors_keeps_its_answer_before_the_intake(world, tmp_path,
                                                                        customs, kept):
    world.counselor()
    rasa = _AskingForACounselor(customs)
    content = ContentStore(ROOT / "content")
    world.desk = CounselorDesk(world.hub, rasa.transcript)
    core = ConversationCore(rasa, content, SafetyNet(content, {}), world.database, "k",
                            world.desk)
    texts = [r.text for r in _turn(core, "tu van vien co bao cho lanh dao khong").replies]
    intake = world.hub.message("escalate_intro").text
    assert texts == (["Câu trả lời của mục nội dung", intake] if kept else [intake])


def test_the_queue_gauge_counts_unclaimed_cases_and_the_longest_wait(world, core):
    core, _ = core
    world.counselor()
    assert world.service.cases.waiting_summary() == (0, 0.0)
    for step in ("/counselor_start", "/counselor_share_nothing", "/counselor_contact_chat",
                 "/counselor_confirm"):
        _turn(core, step)
    world.now += dt.timedelta(minutes=3)
    assert world.service.cases.waiting_summary() == (1, 180.0)
