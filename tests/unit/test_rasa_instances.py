"""The bot spreads conversations over Rasa instances and moves them off one that fails."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.rasa_client import NluUnavailable, RasaClient
from bot.rasa_instances import InstancePool
from tests.helpers import free_port

ANSWER = {"intent": {"name": "greet", "confidence": 0.9},
          "messages": [{"text": "Chào bạn"}]}


class _Instance(BaseHTTPRequestHandler):
    """A stand-in Rasa instance that records which conversations reached it."""

    stalled: threading.Event | None = None  # set: answers only once the test releases it
    body: dict = ANSWER
    senders: list
    wiped: list

    def do_POST(self):  # noqa: N802 (http.server API)
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self.senders.append(request["sender"])
        if self.stalled is not None:
            self.stalled.wait(60)
        self._reply(self.body)

    def do_PUT(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.wiped.append(self.path.split("/")[2])
        self._reply({})

    def _reply(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def instance():
    servers, stalls = [], []

    def start(stalled: bool = False, body: dict | None = None):
        stall = threading.Event() if stalled else None
        if stall is not None:
            stalls.append(stall)
        handler = type("I", (_Instance,), {"stalled": stall, "body": body or ANSWER,
                                           "senders": [], "wiped": []})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", handler

    yield start
    for stall in stalls:
        stall.set()
    for server in servers:
        server.shutdown()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _sender_first_on(pool: InstancePool, url: str) -> str:
    return next(s for s in (f"p{n}" for n in range(100)) if pool.order(s)[0] == url)


def test_each_conversation_stays_on_one_instance_and_both_get_some(instance):
    async def run(a, b):
        client = RasaClient((a[0], b[0]), "secret", timeout=5)
        for n in range(20):
            for _ in range(2):
                await client.send(f"p{n}", "xin chào")
        await client.close()
    a, b = instance(), instance()
    asyncio.run(run(a, b))
    on_a, on_b = set(a[1].senders), set(b[1].senders)
    assert on_a and on_b, "turns must be spread over both instances"
    assert not on_a & on_b, "a conversation must not hop between healthy instances"
    assert len(a[1].senders) + len(b[1].senders) == 40


def test_a_refused_turn_goes_to_the_next_instance_at_once(instance):
    dead = f"http://127.0.0.1:{free_port()}"
    live, handler = instance()
    pool = InstancePool((dead, live))
    sender = _sender_first_on(pool, dead)

    async def run():
        client = RasaClient((dead, live), "secret", timeout=5, pool=pool)
        answer = await client.send(sender, "xin chào")
        await client.close()
        return answer
    assert asyncio.run(run()).replies[0].text == "Chào bạn"
    assert handler.senders == [sender]
    assert pool.order(sender)[0] == live  # the dead one is passed over from now on


def test_a_slow_instance_costs_one_turn_then_is_passed_over_until_its_cooldown_ends(instance):
    slow, slow_handler = instance(stalled=True)  # answers only after the test
    fast, fast_handler = instance()
    clock = Clock()
    pool = InstancePool((slow, fast), cooldown_s=10, clock=clock)
    sender = _sender_first_on(pool, slow)

    async def run():
        client = RasaClient((slow, fast), "secret", timeout=3, pool=pool)
        with pytest.raises(NluUnavailable):
            await client.send(sender, "một")  # the turn's time is spent on the slow one
        second = await client.send(sender, "hai")
        clock.now += 11
        back = pool.order(sender)[0]
        await client.close()
        return second, back
    second, back = asyncio.run(run())
    assert second.replies[0].text == "Chào bạn"
    assert fast_handler.senders == [sender]
    assert back == slow, "after its cooldown the instance gets its conversations back"


def test_an_instance_whose_actions_are_down_passes_the_turn_on(instance):
    silent, _ = instance(body={"intent": {"name": "greet", "confidence": 0.9},
                               "messages": []})
    live, handler = instance()
    pool = InstancePool((silent, live))
    sender = _sender_first_on(pool, silent)

    async def run():
        client = RasaClient((silent, live), "secret", timeout=5, pool=pool)
        answer = await client.send(sender, "xin chào")
        await client.close()
        return answer
    assert asyncio.run(run()).replies
    assert handler.senders == [sender]


def test_every_instance_down_is_unavailable_not_a_crash():
    urls = (f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}")

    async def run():
        client = RasaClient(urls, "secret", timeout=2)
        try:
            await client.send("p1", "xin chào")
        finally:
            await client.close()
    with pytest.raises(NluUnavailable):
        asyncio.run(run())


def test_a_wipe_reaches_every_instance_and_a_dead_one_does_not_block_it(instance):
    a, a_handler = instance()
    b, b_handler = instance()
    dead = f"http://127.0.0.1:{free_port()}"

    async def run(urls):
        client = RasaClient(urls, "secret", timeout=5)
        done = await client.forget("p7")
        await client.close()
        return done
    assert asyncio.run(run((a, b))) is True
    assert a_handler.wiped == ["p7"] and b_handler.wiped == ["p7"]
    assert asyncio.run(run((a, dead))) is True
    assert asyncio.run(run((dead,))) is False, "nothing reached: the wipe is not confirmed"


def test_an_instance_holds_at_most_a_few_turns_and_the_rest_wait_their_turn(instance):
    from bot.rasa_client import TURNS_PER_INSTANCE

    url, handler = instance(stalled=True)  # it answers only when released
    client = RasaClient((url,), "secret", timeout=60)

    async def scenario() -> list:
        turns = [asyncio.create_task(client.send(f"user-{n}", "xin chào")) for n in range(20)]
        while len(handler.senders) < TURNS_PER_INSTANCE:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0)
        waiting, held = client.waiting, len(handler.senders)
        assert client.in_flight == 20, "every waiting turn counts toward saturation"
        handler.stalled.set()
        answers = await asyncio.gather(*turns)
        await client.close()
        return [waiting, held, answers]

    waiting, held, answers = asyncio.run(scenario())
    assert waiting == 20 - TURNS_PER_INSTANCE, "the rest wait in the bot, not at the instance"
    assert held == TURNS_PER_INSTANCE
    assert len(answers) == 20 and all(a.replies for a in answers)
