"""/healthz, /readyz and /metrics: an operator sees load and health, never a person."""

from __future__ import annotations

import asyncio

import httpx
from tornado.httpserver import HTTPServer
from tornado.web import Application

from bot.core import ConversationCore, IncomingMessage
from bot.ops.checks import database_check, http_check
from bot.ops.http import Part, Readiness, ops_handlers
from bot.ops.metrics import Metrics
from bot.pseudonym import pseudonymise
from bot.safety import SafetyNet
from bot.storage import Database
from common.content import ContentStore
from tests.fakes.rasa import ScriptedRasa
from tests.helpers import ROOT, free_port

USER = "5550001112223"
WORDS = "chồng tôi đang đánh tôi"


def _database(tmp_path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    database.migrate()
    return database


def test_turns_are_counted_by_channel_and_outcome_without_anything_personal(tmp_path):
    metrics = Metrics()
    content = ContentStore(ROOT / "content")
    core = ConversationCore(ScriptedRasa(), content, SafetyNet(content, {}),
                            _database(tmp_path), "k", metrics=metrics)

    async def early(_reply) -> None:
        pass

    async def turns() -> None:
        await core.handle(IncomingMessage("telegram", USER, "xin chào"))
        await core.handle(IncomingMessage("telegram", USER, WORDS), early=early)
        await core.handle(IncomingMessage("zalo", USER, WORDS))

    asyncio.run(turns())
    text = metrics.exposition().decode()
    assert 'antam_turns_total{channel="telegram",outcome="answered"} 1.0' in text
    assert 'antam_turns_total{channel="telegram",outcome="crisis"} 1.0' in text
    assert 'antam_emergency_replies_total{path="early"} 1.0' in text
    assert 'antam_emergency_replies_total{path="in_answer"} 1.0' in text
    assert 'antam_turn_seconds_count{channel="zalo"} 1.0' in text
    for personal in (USER, pseudonymise("k", "telegram", USER), "chồng", "greet", "danger"):
        assert personal not in text


def _serve(readiness: Readiness) -> tuple[HTTPServer, str]:
    port = free_port()
    server = HTTPServer(Application(ops_handlers(readiness)))
    server.listen(port, address="127.0.0.1")
    return server, f"http://127.0.0.1:{port}"


def test_ready_without_rasa_but_not_without_the_database(tmp_path):
    metrics = Metrics()
    down = f"http://127.0.0.1:{free_port()}/status"
    unwritable = Database(f"sqlite:///{tmp_path}")  # a directory: every query fails
    readiness = Readiness([Part("database", database_check(_database(tmp_path)), True),
                           Part("rasa", http_check(down), False)], metrics)
    broken = Readiness([Part("database", database_check(unwritable), True)], Metrics())

    async def scenario() -> None:
        server, base = _serve(readiness)
        broken_server, broken_base = _serve(broken)
        try:
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"{base}/healthz")).status_code == 200
                ready = await client.get(f"{base}/readyz")
                assert ready.status_code == 200
                assert ready.json() == {"ready": True,
                                        "parts": {"database": "ok", "rasa": "down"}}
                not_ready = await client.get(f"{broken_base}/readyz")
                assert not_ready.status_code == 503
                assert not_ready.json()["parts"] == {"database": "down"}
                scraped = (await client.get(f"{base}/metrics")).text
                assert 'antam_service_up{service="rasa"} 0.0' in scraped
                assert 'antam_service_up{service="database"} 1.0' in scraped
        finally:
            server.stop()
            broken_server.stop()

    asyncio.run(scenario())
