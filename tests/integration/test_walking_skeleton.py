"""The whole stack, end to end, through the console channel (`antam chat --jsonl`)."""

from __future__ import annotations

import json
import re
import stat

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.pseudonym import pseudonymise
from tests.helpers import LOOPBACK_V4, listening_addresses

pytestmark = pytest.mark.stack


def _all_text(record: dict) -> str:
    return "\n".join(reply["text"] for reply in record["replies"])


def _payloads(record: dict) -> list[str]:
    return [b["payload"] for reply in record["replies"] for b in reply["buttons"]]


def _participants(stack) -> int:
    engine = create_engine(f"sqlite:///{stack.var_dir / 'antam.db'}")
    with engine.connect() as connection:
        return connection.execute(text("select count(*) from participants")).scalar_one()


def test_up_says_where_each_service_listens_then_ready(stack):
    printed = "\n".join(stack.stdout_lines)
    assert re.search(rf"^actions pid=\d+ http://127.0.0.1:{stack.actions_port}/webhook$",
                     printed, re.M)
    assert re.search(rf"^rasa pid=\d+ http://127.0.0.1:{stack.rasa_port} ", printed, re.M)
    assert re.search(rf"^bot\+api pid={stack.process.pid} http://127.0.0.1:"
                     rf"{stack.env['ANTAM_API_PORT']}/$", printed, re.M)
    assert f"console: http://127.0.0.1:{stack.env['ANTAM_API_PORT']}/" in printed
    assert stack.stdout_lines[-1] == "ready"


def test_up_reports_health_readiness_and_metrics_of_every_part(stack):
    base = f"http://127.0.0.1:{stack.env['ANTAM_API_PORT']}"
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 200
    assert ready.json()["parts"] == {"database": "ok", "rasa": "ok", "actions": "ok"}
    scraped = httpx.get(f"{base}/metrics").text
    assert 'antam_service_up{service="rasa"} 1.0' in scraped
    assert "antam_escalations_waiting 0.0" in scraped
    assert "antam_outbox_depth 0.0" in scraped


def test_up_serves_the_workspace_page_with_its_headers(stack):
    page = httpx.get(f"http://127.0.0.1:{stack.env['ANTAM_API_PORT']}/")
    assert page.status_code == 200 and "An Tâm" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = httpx.get(f"http://127.0.0.1:{stack.env['ANTAM_API_PORT']}/app.js")
    assert script.status_code == 200 and "antam-login-v2" in script.text


def test_greeting_then_hotlines_from_content(stack):
    run = stack.chat(["xin chào", "cho tôi xin số đường dây nóng"])
    greet, hotline = run.records
    assert run.returncode == 0
    assert greet["intent"] == "greet" and greet["confidence"] > 0.5
    assert "An Tâm" in _all_text(greet)
    assert "/ask_hotline" in _payloads(greet)
    assert hotline["intent"] == "ask_hotline"
    for number in ("113", "1900 969 680", "1800 1233"):
        assert number in _all_text(hotline)
    assert not greet["crisis"] and not hotline["crisis"]


def test_hotlines_understood_without_diacritics_and_in_teencode(stack):
    run = stack.chat(["so dien thoai ho tro", "cho e xin sdt tu van"])
    assert [r["intent"] for r in run.records] == ["ask_hotline", "ask_hotline"]


def test_a_button_payload_works_like_a_typed_question(stack):
    record = stack.chat(["/ask_hotline"]).records[0]
    assert record["intent"] == "ask_hotline" and "1800 1233" in _all_text(record)


@pytest.mark.parametrize("message", ["Tôi đang bị đánh", "ck dang danh e", "cuu toi voi"])
def test_danger_gets_emergency_contacts_first(stack, message):
    record = stack.chat([message]).records[0]
    assert record["crisis"] is True
    assert "113" in record["replies"][0]["text"]


def test_off_topic_gets_an_honest_scope_answer(stack):
    record = stack.chat(["thời tiết hôm nay thế nào"]).records[0]
    assert record["intent"] == "out_of_scope"
    assert "chỉ có thể hỗ trợ" in _all_text(record)


def test_plain_lines_share_one_conversation_and_senders_are_separate(stack):
    before = _participants(stack)
    stack.chat(["xin chào", "số điện thoại hỗ trợ"])
    assert _participants(stack) == before + 1
    stack.chat([json.dumps({"text": "xin chào", "sender": s}) for s in ("case-a", "case-b")])
    assert _participants(stack) == before + 3


BAD_INPUTS = {
    "empty": b"",
    "10k characters": ("tôi cần giúp đỡ " * 700)[:10_000].encode(),
    "control characters": b"xin \x00\x07\x1b[2J ch\xc3\xa0o\x7f",
    "emoji and mixed scripts": "🙏😢 help me 救命 xin chào".encode(),
    "invalid UTF-8": b"\xff\xfe\xfa toi bi danh \xc3",
}


def test_bad_input_always_gets_a_reply_and_never_a_traceback(stack):
    run = stack.chat(list(BAD_INPUTS.values()))
    assert run.returncode == 0
    assert "Traceback" not in run.stderr
    assert len(run.records) == len(BAD_INPUTS)
    for name, record in zip(BAD_INPUTS, run.records, strict=True):
        assert record["replies"] and record["replies"][0]["text"], name
    by_name = dict(zip(BAD_INPUTS, run.records, strict=True))
    assert "chưa nhập nội dung" in _all_text(by_name["empty"])
    assert "error" in by_name["invalid UTF-8"]
    assert by_name["invalid UTF-8"]["crisis"], "the safety net still reads the readable part"


def test_rasa_http_api_requires_the_token(stack):
    url = f"http://127.0.0.1:{stack.rasa_port}/status"
    assert httpx.get(url).status_code == 401
    token = stack.secret("rasa-token.key")
    assert httpx.get(url, params={"token": token}).status_code == 200


def test_only_the_authenticated_antam_channel_accepts_messages(stack):
    base = f"http://127.0.0.1:{stack.rasa_port}/webhooks"
    body = {"sender": "x", "message": "xin chào"}
    assert httpx.post(f"{base}/antam/webhook", json=body).status_code == 401
    wrong = {"Authorization": "Bearer wrong"}
    assert httpx.post(f"{base}/antam/webhook", json=body, headers=wrong).status_code == 401
    assert httpx.post(f"{base}/rest/webhook", json=body).status_code == 404


def test_services_listen_on_loopback_only(stack):
    assert listening_addresses(stack.rasa_port) == {LOOPBACK_V4}
    assert listening_addresses(stack.actions_port) == {LOOPBACK_V4}


def test_no_message_text_or_sender_id_reaches_disk_or_logs(stack):
    sentence = "Chồng tôi tên Nguyễn Văn Bính đánh tôi ở Hải Phòng"
    sender = "telegram-user-5550123987"
    run = stack.chat([json.dumps({"text": sentence, "sender": sender}), "Bính hay say rượu lắm"])
    needles = [sentence, "Nguyễn Văn Bính", "Bính", "Binh", "Hải Phòng", "say rượu",
               "5550123987"]
    assert "turn channel=console" in run.stderr, "the chat does log its turns"
    for needle in needles:
        assert needle not in run.stderr
    for path in stack.var_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for needle in needles:
                assert needle.encode() not in data, f"{needle!r} found in {path.name}"


def test_turn_statistics_are_recorded_without_identity(stack):
    stack.chat(["xin chào"])
    engine = create_engine(f"sqlite:///{stack.var_dir / 'antam.db'}")
    with engine.connect() as connection:
        columns = {row[1] for row in connection.execute(text("pragma table_info(turn_stats)"))}
        intents = connection.execute(text("select intent from turn_stats")).scalars().all()
    assert "greet" in intents
    assert not columns & {"pseudonym", "text", "message", "user_id"}
    assert all(re.fullmatch(r"[a-z_]+", i) for i in intents if i)


def test_rasa_keeps_conversations_in_the_store_that_forgets_them(stack):
    health = httpx.get(f"http://127.0.0.1:{stack.rasa_port}/webhooks/antam/").json()
    assert health == {"status": "ok", "tracker_store": "ExpiringInMemoryTrackerStore"}


def test_the_turn_log_names_no_person_and_quick_exit_leaves_rasa_nothing(stack):
    sender = "telegram-user-5550777111"
    run = stack.chat([json.dumps({"text": "chồng tôi đánh tôi", "sender": sender}),
                      json.dumps({"text": "/thoat", "sender": sender})])
    turns = [line for line in run.stderr.splitlines() if "turn channel=" in line]
    assert len(turns) == 2 and not any("user=" in line for line in turns)
    token = stack.secret("rasa-token.key")
    pseudonym = pseudonymise(stack.secret("pseudonym.key"), "console", sender)
    tracker = httpx.get(f"http://127.0.0.1:{stack.rasa_port}/conversations/{pseudonym}/tracker",
                        params={"token": token}).json()
    assert not any(e.get("event") == "user" for e in tracker["events"])


def test_the_var_directory_and_what_is_in_it_are_private(stack):
    assert stat.S_IMODE(stack.var_dir.stat().st_mode) == 0o700
    files = [p for p in stack.var_dir.rglob("*") if p.is_file()]
    assert any(p.name == "antam.db" for p in files) and any(p.suffix == ".log" for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
