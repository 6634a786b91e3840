"""Conversation tests through `antam chat --jsonl`: every intent, both awareness flows."""

from __future__ import annotations

import json
import re

import pytest

from common.content import load_content
from common.content.model import QUIZ_ROUND
from common.intents import CONTRACT_INTENTS
from tests.helpers import ROOT

pytestmark = pytest.mark.stack
CONTENT = load_content(ROOT / "content")


def _text(record: dict) -> str:
    return "\n".join(r["text"] for r in record["replies"])


def _buttons(record: dict) -> list[dict]:
    return [b for r in record["replies"] for b in r["buttons"]]


def _press(record: dict, title: str) -> str:
    return next(b["payload"] for b in _buttons(record) if b["title"] == title)


@pytest.mark.parametrize("intent", CONTRACT_INTENTS)
def test_every_contract_intent_gets_a_sensible_answer(stack, intent):
    record = stack.chat([f"/{intent}"]).records[0]
    assert record["intent"] == intent
    assert record["replies"] and record["replies"][0]["text"].strip()
    assert all(len(r["text"]) <= 700 for r in record["replies"]), "short first"
    assert record["crisis"] == (intent in ("danger_now", "self_harm"))


@pytest.mark.parametrize("intent", [i for i in CONTRACT_INTENTS if i not in (
    "goodbye", "delete_my_data", "start_quiz")])
def test_answers_offer_next_steps_as_buttons(stack, intent):
    record = stack.chat([f"/{intent}"]).records[0]
    assert _buttons(record), f"{intent} leaves the user without a next step"


def test_self_harm_offers_a_counselor_now_with_113_and_115_first(stack):
    record = stack.chat(["em không muốn sống nữa"]).records[0]
    first = record["replies"][0]
    assert record["crisis"] and "113" in first["text"] and "115" in first["text"]
    assert "/request_counselor" in [b["payload"] for b in first["buttons"]]
    emergency = [r for r in record["replies"] if "113" in r["text"]]
    assert len(emergency) == 1, "exactly one emergency reply per message"


def test_more_button_shows_details(stack):
    record = stack.chat(["/ask_safety_plan"]).records[0]
    more = stack.chat([_press(record, "Xem thêm")]).records[0]
    assert more["intent"] == "show_entry"
    assert _text(more) != _text(record) and len(_text(more)) > 100


def test_legal_answer_cites_its_law(stack):
    menu = stack.chat(["/ask_legal_rights"]).records[0]
    payload = _press(menu, "Nghỉ việc không cần báo trước")
    fact = stack.chat([payload]).records[0]
    assert "Điều 35" in _text(fact) and "Bộ luật Lao động" in _text(fact)


def _say(stack, sender: str, text: str) -> dict:
    """One message in a conversation that continues across calls."""
    return stack.chat([json.dumps({"text": text, "sender": sender})]).records[0]


def test_quiz_runs_one_question_at_a_time_and_scores(stack):
    total = QUIZ_ROUND  # a round draws 8 of the pool's questions
    record, seen = _say(stack, "quiz-player", "/start_quiz"), set()
    for number in range(1, total + 1):
        asked = re.search(rf"Câu {number}/{total}: (.+)", _text(record))
        assert asked, _text(record)
        seen.add(asked.group(1).strip())
        assert "/quiz_stop" in [b["payload"] for b in _buttons(record)], "a way out"
        record = _say(stack, "quiz-player", _buttons(record)[0]["payload"])
        assert re.search(r"Chính xác|Chưa đúng", _text(record)), "explained after each answer"
    assert re.search(rf"đúng \d+/{total} câu", _text(record))
    assert len(seen) == total, "every question once"


def test_quiz_can_be_left_at_any_point(stack):
    records = stack.chat(["/start_quiz", "/quiz_stop", '/quiz_answer{"choice":0}']).records
    assert "Đã dừng" in _text(records[1])
    assert "không có câu đố" in _text(records[2]).lower()


def test_quiz_order_is_random(stack):
    firsts = {re.search(r"Câu 1/\d+: (.+)", _text(stack.chat(["/start_quiz"]).records[0]))
              .group(1) for _ in range(6)}
    assert len(firsts) > 1


def test_self_check_explains_without_judging_and_points_to_help(stack):
    lines = ["/ask_is_it_abuse", "/selfcheck_start"]
    lines += ['/selfcheck_answer{"choice":1}'] * len(CONTENT.selfcheck)
    records = stack.chat(lines).records
    result = records[-1]
    assert "không phải lỗi của bạn" in _text(result).lower()
    payloads = [b["payload"] for b in _buttons(result)]
    assert "/ask_hotline" in payloads and "/request_counselor" in payloads


def test_bystander_guide(stack):
    record = stack.chat(["đồng nghiệp của mình bị sếp quấy rối, mình nên giúp bạn ấy thế nào"])
    assert record.records[0]["intent"] == "help_someone_else"
    assert CONTENT.guides["help_someone"].title in _text(record.records[0])


def test_quick_exit_forgets_the_conversation(stack):
    records = stack.chat(["/start_quiz", "/quick_exit", '/quiz_answer{"choice":0}']).records
    assert "bạo lực" not in _text(records[1]).lower()
    assert "không có câu đố" in _text(records[2]).lower(), "the quiz state was wiped"


BAD_INPUTS = ["", "🙏😢🙏", "12345678", "help me please tôi cần giúp", "/ask_hotline{bad json",
              '/quiz_answer{"choice":"x"}', "/no_such_intent",
              '/show_entry{"ref":"guide:nope"}', "a" * 10_000]


def test_bad_input_never_raises(stack):
    run = stack.chat(BAD_INPUTS)
    assert run.returncode == 0 and "Traceback" not in run.stderr
    assert len(run.records) == len(BAD_INPUTS)
    assert all(r["replies"] and r["replies"][0]["text"] for r in run.records)


def test_delete_my_data_removes_the_participant(stack):
    from sqlalchemy import create_engine, text

    sender = {"sender": "wipe-me"}
    stack.chat([json.dumps({"text": "xin chào", **sender})])
    engine = create_engine(f"sqlite:///{stack.var_dir / 'antam.db'}")
    with engine.connect() as connection:
        before = connection.execute(text("select count(*) from participants")).scalar_one()
    record = stack.chat([json.dumps({"text": "/delete_my_data", **sender})]).records[0]
    with engine.connect() as connection:
        after = connection.execute(text("select count(*) from participants")).scalar_one()
    assert after == before - 1
    assert "đã được xóa" in _text(record)


# ── Conversation context (issue 12): the topic answers follow-ups ────────────

def _entries(record: dict) -> list[str]:
    return record["entries"]


def test_a_follow_up_is_answered_in_the_topic_of_the_conversation(stack):
    records = stack.chat(["trưởng phòng cứ nhắn tin rủ em đi khách sạn, em sợ bị đuổi việc",
                          "giờ em phải làm gì ạ"]).records
    assert records[0]["intent"] == "report_workplace_harassment"
    assert _entries(records[1]) == ["guide:report_workplace"]


def test_the_same_follow_up_follows_a_new_topic(stack):
    records = stack.chat(["sep hay sờ soạng em trong thang máy",
                          "ck em kiểm soát hết lương, chửi em suốt ngày trước mặt con",
                          "vay gio toi phai lam gi"]).records
    assert records[1]["intent"] == "report_domestic_violence"
    assert _entries(records[2]) == ["guide:safety_plan"]


def test_a_follow_up_without_a_topic_gets_a_question_and_a_menu_not_a_guess(stack):
    record = stack.chat(["giờ tôi phải làm gì"]).records[0]
    assert _entries(record) == ["message:follow_up_no_topic"]
    assert "?" in record["replies"][0]["text"]
    assert "/report_workplace_harassment" in [b["payload"] for b in _buttons(record)]


@pytest.mark.parametrize("wipe", ["/quick_exit", "/xoa"])
def test_quick_exit_and_delete_forget_the_topic(stack, wipe):
    records = stack.chat(["trưởng phòng cứ nhắn tin rủ em đi khách sạn, em sợ bị đuổi việc",
                          wipe, "giờ em phải làm gì ạ"]).records
    assert _entries(records[2]) == ["message:follow_up_no_topic"]


def test_a_specific_question_gets_its_entry_with_the_menu_one_button_away(stack):
    record = stack.chat(["quấy rối tình dục ở cơ quan thì bị phạt tiền bao nhiêu"]).records[0]
    assert _entries(record) == ["legal:harassment_fines"]
    assert "Các câu hỏi khác" in [b["title"] for b in _buttons(record)]


def test_every_answer_names_the_entries_it_showed(stack):
    records = stack.chat(["/ask_hotline", "tôi muốn chết"]).records
    assert _entries(records[0]) == ["message:hotlines"]
    assert _entries(records[1])[0] == "message:crisis_self_harm"


def test_a_quiz_round_asks_eight_to_ten_of_the_pool(stack):
    assert 8 <= QUIZ_ROUND <= 10 < len(CONTENT.verified_quiz())
    assert re.search(r"Câu 1/(8|9|10): ", _text(stack.chat(["/start_quiz"]).records[0]))


def test_a_message_typed_mid_quiz_is_answered_and_the_round_resumes(stack):
    sender = "quiz-interrupted"
    first = _say(stack, sender, "/start_quiz")
    second = _say(stack, sender, _buttons(first)[0]["payload"])
    asked = re.search(r"Câu 2/\d+: (.+)", _text(second)).group(1)
    aside = _say(stack, sender, "có cần giữ lại tin nhắn làm bằng chứng không")
    assert aside["intent"] == "ask_evidence" and "bằng chứng" in _text(aside), "answered"
    resumed = _say(stack, sender, _press(aside, "Tiếp tục câu đố"))
    assert f"Câu 2/{QUIZ_ROUND}: {asked}" in _text(resumed), "progress kept, not restarted"
    again = _say(stack, sender, "cho mình chơi câu đố tiếp")
    assert f"Câu 2/{QUIZ_ROUND}" in _text(again), "typing 'quiz' again resumes too"


def test_self_check_can_be_started_by_typing_and_skipped(stack):
    sender = "selfcheck-typed"
    record = _say(stack, sender, "tôi muốn tự kiểm tra xem mình có bị bạo lực không")
    assert record["intent"] == "selfcheck_start", record["intent"]
    assert "1/" in _text(record) and "Bỏ qua" in [b["title"] for b in _buttons(record)]
    record = _say(stack, sender, _press(record, "Bỏ qua"))
    assert "2/" in _text(record) and not record["crisis"]


def test_self_check_covers_pressure_at_work():
    assert any("cơ quan" in q.question and q.form == "psychological"
               for q in CONTENT.selfcheck)


def test_yes_to_strangulation_brings_the_danger_reply_and_the_safety_plan_at_once(stack):
    index = next(i for i, q in enumerate(CONTENT.selfcheck) if q.danger)
    lines = ["/selfcheck_start"] + ['/selfcheck_answer{"choice":0}'] * index
    lines.append('/selfcheck_answer{"choice":1}')
    record = stack.chat(lines).records[-1]
    assert record["crisis"] and "113" in record["replies"][0]["text"], "danger reply first"
    assert CONTENT.guides["safety_plan"].title in _text(record)
    assert f"{index + 2}/{len(CONTENT.selfcheck)}" in _text(record), "then the next question"
