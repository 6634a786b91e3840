"""When Rasa is down, slow or answers nothing, the core still answers at once."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.core import ConversationCore, IncomingMessage
from bot.rasa_client import RasaClient
from bot.safety import SafetyNet
from bot.storage import Database
from common.content import ContentStore
from common.textnorm import load_lexicon
from tests.helpers import ROOT, free_port

LEXICON = load_lexicon(ROOT / "nlu" / "lexicon" / "abbreviations.yml")


class _Behaviour(BaseHTTPRequestHandler):
    """A real HTTP server standing in for a Rasa that misbehaves in one way."""

    delay = 0.0
    body: dict = {}

    def do_POST(self):  # noqa: N802 (http.server API)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(self.delay)
        data = json.dumps(self.body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def misbehaving_rasa():
    def start(delay: float = 0.0, body: dict | None = None) -> str:
        handler = type("H", (_Behaviour,), {"delay": delay, "body": body or {"messages": []}})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    servers: list[ThreadingHTTPServer] = []
    yield start
    for server in servers:
        server.shutdown()


def _core(rasa_url: str, tmp_path, timeout: float = 2.0,
          database: Database | None = None) -> ConversationCore:
    content = ContentStore(ROOT / "content")
    if database is None:
        database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
        database.migrate()
    return ConversationCore(RasaClient(rasa_url, "secret", timeout), content,
                            SafetyNet(content, LEXICON), database, "key")


def _ask(core: ConversationCore, text: str):
    return asyncio.run(core.handle(IncomingMessage("console", "u1", text)))


def test_rasa_down_crisis_still_gets_emergency_reply(tmp_path):
    result = _ask(_core(f"http://127.0.0.1:{free_port()}", tmp_path), "toi dang bi danh")
    assert result.crisis and result.degraded
    assert "113" in result.replies[0].text


def test_rasa_down_other_messages_get_apology_and_contacts(tmp_path):
    result = _ask(_core(f"http://127.0.0.1:{free_port()}", tmp_path), "xin chào")
    assert result.degraded and not result.crisis
    assert "Xin lỗi" in result.replies[0].text
    assert "1900 969 680" in result.replies[0].text


def test_slow_rasa_is_abandoned_after_the_timeout(tmp_path, misbehaving_rasa):
    url = misbehaving_rasa(delay=3.0, body={"messages": [{"text": "too late"}]})
    started = time.perf_counter()
    result = _ask(_core(url, tmp_path, timeout=0.5), "cứu tôi với")
    assert time.perf_counter() - started < 2.0
    assert result.crisis and result.degraded


def test_empty_rasa_answer_is_treated_as_failure(tmp_path, misbehaving_rasa):
    result = _ask(_core(misbehaving_rasa(body={"messages": []}), tmp_path), "xin chào")
    assert result.degraded and result.replies


def test_crisis_intent_from_rasa_puts_emergency_reply_first(tmp_path, misbehaving_rasa):
    body = {"intent": {"name": "danger_now", "confidence": 0.9},
            "messages": [{"text": "Một câu trả lời khác"}]}
    result = _ask(_core(misbehaving_rasa(body=body), tmp_path), "anh ấy lại say rồi, tôi sợ")
    assert result.crisis and not result.degraded
    assert "113" in result.replies[0].text
    assert result.replies[1].text == "Một câu trả lời khác"


def test_net_and_model_together_give_exactly_one_emergency_reply(tmp_path, misbehaving_rasa):
    body = {"intent": {"name": "self_harm", "confidence": 0.95},
            "messages": [{"custom": {"emergency": "self_harm"}}]}
    result = _ask(_core(misbehaving_rasa(body=body), tmp_path), "tôi muốn chết")
    emergency = [r for r in result.replies if "115" in r.text]
    assert len(emergency) == 1 and result.replies[0] is emergency[0]
    assert "/request_counselor" in [b.payload for b in result.replies[0].buttons]


def test_statistics_failure_never_costs_the_answer(tmp_path):
    unwritable = Database(f"sqlite:///{tmp_path}")  # a directory: every write fails
    core = _core(f"http://127.0.0.1:{free_port()}", tmp_path, database=unwritable)
    assert _ask(core, "toi bi danh").crisis


def test_a_likely_second_crisis_intent_brings_the_emergency_reply(tmp_path, misbehaving_rasa):
    body = {"intent": {"name": "report_domestic_violence", "confidence": 0.45},
            "ranking": [{"name": "report_domestic_violence", "confidence": 0.45},
                        {"name": "danger_now", "confidence": 0.45}],
            "messages": [{"text": "Hướng dẫn về bạo lực gia đình"}]}
    result = _ask(_core(misbehaving_rasa(body=body), tmp_path), "anh ấy vừa về, đang say")
    assert result.crisis and "113" in result.replies[0].text


def test_an_unlikely_second_crisis_intent_does_not(tmp_path, misbehaving_rasa):
    body = {"intent": {"name": "greet", "confidence": 0.8},
            "ranking": [{"name": "greet", "confidence": 0.8},
                        {"name": "danger_now", "confidence": 0.05}],
            "messages": [{"text": "Xin chào"}]}
    result = _ask(_core(misbehaving_rasa(body=body), tmp_path), "chào bạn")
    assert not result.crisis


def test_crisis_understood_but_unanswered_still_gets_the_emergency_reply(tmp_path,
                                                                          misbehaving_rasa):
    # Rasa understood, but the action server was down: no messages came back.
    body = {"intent": {"name": "danger_now", "confidence": 0.9}, "messages": []}
    result = _ask(_core(misbehaving_rasa(body=body), tmp_path), "anh ấy vừa về, đang lục tìm em")
    assert result.crisis and result.degraded and "113" in result.replies[0].text
