"""Faults injected while people use the whole service in its production shape: two bot
workers on one Telegram webhook (the Bot API stand-in delivers and redelivers as Telegram
does), two Rasa instances sharing sealed conversations in Redis, PostgreSQL, the counselors'
API, and a counselor in a live case with a user.

The faults: Telegram answering 5xx and 429, a Rasa instance that stalls and answers only
after 5 s, a Rasa instance killed, Redis stopped, PostgreSQL restarted. PostgreSQL and Redis
are servers of this test's own (tests/services.py), so restarting them disturbs nothing
else. After each fault: every message got a reply (the model's or the degraded one), every
crisis message got the emergency reply first, the messages relayed between the user and the
counselor arrived exactly once each way, and the service recovered by itself.

Killing a bot worker is in test_bot_workers.py; test_rasa_failover.py checks that a killed
instance's conversation continues in the same topic on the other."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bot.stack import free_ports
from tests.fakes.telegram_api import TelegramStandIn
from tests.helpers import free_port
from tests.services import PrivatePostgres, PrivateRedis
from tests.stack import running_up, stack_env
from tests.staff_cli import after, enrol_counselor, staff

pytestmark = [pytest.mark.stack, pytest.mark.postgres]
USERS = [8_000_000 + n for n in range(12)]
CASE_CHAT, COUNSELOR_CHAT = 8_100_001, 8_100_002
WAIT_S = 120  # for events (replies, restarts); the bound only stops a hang
SETTLE_S = 8  # past the 5 s update lease: a duplicate would have shown by then
CRISIS = "tôi muốn chết"
QUESTION = "bạo lực gia đình là gì"


def _until(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


def _buttons(message: dict) -> list[dict]:
    markup = message.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class TelegramUser:
    """One person's chat with the bot, read in order: each wait consumes what it saw."""

    standin: TelegramStandIn
    chat: int
    _read: int = 0

    def say(self, text: str) -> None:
        self.standin.user_message(self.chat, text)

    def press(self, message: dict, title: str) -> None:
        button = next(b for b in _buttons(message) if b["text"] == title)
        self.standin.callback_query(self.chat, button["callback_data"], message["message_id"])

    def next_where(self, wanted: Callable[[dict], object], what: str) -> dict:
        """The next message from the bot that matches ``wanted``."""
        found: list[dict] = []

        def arrived() -> bool:
            sent = self.standin.sent(self.chat)
            for index in range(self._read, len(sent)):
                if wanted(sent[index]):
                    self._read = index + 1
                    found.append(sent[index])
                    return True
            return False
        try:
            _until(arrived, what)
        except AssertionError as failure:
            said = [(m["text"] or "")[:80] for m in self.standin.sent(self.chat)[self._read:]]
            raise AssertionError(f"{failure}; the bot said since: {said}") from None
        return found[0]

    def next_reply(self) -> dict:
        return self.next_where(lambda m: True, "a reply")

    def with_button(self, title: str) -> dict:
        return self.next_where(lambda m: any(b["text"] == title for b in _buttons(m)),
                               f"a message with the button {title!r}")


@dataclass
class Service:
    standin: TelegramStandIn
    env: dict[str, str]
    pids: dict[str, int]
    postgres: PrivatePostgres
    redis: PrivateRedis
    counselor_home: Path
    user: TelegramUser  # the user in a live case with counselor Lan
    code: str = ""
    relayed: list[tuple[str, str]] = field(default_factory=list)  # (user line, counselor line)

    def ports(self, name: str) -> list[int]:
        first = int(self.env[name])
        return [first, first + 1]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    homes = tmp_path_factory.mktemp("staff")
    admin_home, counselor_home = homes / "admin", homes / "counselor"
    admin_key = after("Khóa công khai", staff(admin_home, "admin", "init"))
    with PrivatePostgres() as postgres, PrivateRedis() as redis, TelegramStandIn() as standin:
        webhook = free_port()
        env = stack_env(tmp_path_factory.mktemp("var"))
        env.update(DATABASE_URL=postgres.url, REDIS_URL=redis.url, ANTAM_ADMIN_KEYS=admin_key,
                   ANTAM_RASA_INSTANCES="2", ANTAM_RASA_PORT=str(free_ports(2)),
                   ANTAM_ACTIONS_PORT=str(free_ports(2)), ANTAM_BOT_WORKERS="2",
                   ANTAM_OPS_PORT=str(free_ports(2)), TELEGRAM_BOT_TOKEN=standin.token,
                   TELEGRAM_BASE_URL=standin.base_url,
                   TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{webhook}/telegram/webhook",
                   TELEGRAM_WEBHOOK_SECRET="s" * 32, TELEGRAM_WEBHOOK_PORT=str(webhook),
                   TELEGRAM_UPDATE_LEASE_S="5")
        with running_up(env) as (_, printed):
            pids = {line.split()[0]: int(line.split()[1].removeprefix("pid="))
                    for line in printed if " pid=" in line}
            server = f"http://127.0.0.1:{env['ANTAM_API_PORT']}"
            enrol_counselor(admin_home, counselor_home, server, admin_key, COUNSELOR_CHAT)
            service = Service(standin, env, pids, postgres, redis, counselor_home,
                              TelegramUser(standin, CASE_CHAT))
            service.code = _open_case(service)
            yield service


def _open_case(service: Service) -> str:
    """The case user asks for a counselor in the chat, and counselor Lan takes the case."""
    user = service.user
    user.say("chồng tôi đánh tôi, tôi sợ lắm")  # two messages at once, as people type:
    user.say("tôi muốn nói chuyện với tư vấn viên")
    # Two workers may receive them in either order (the stand-in, like Telegram with several
    # webhook connections, delivers concurrently); an update is held back only while an
    # earlier one of its chat is in hand. Both answers come; the intake may come first.
    start = user._read
    user.next_where(lambda m: "113" in (m["text"] or ""), "the emergency reply")
    user._read = start
    user.press(user.with_button("Cuộc trò chuyện vừa rồi"), "Cuộc trò chuyện vừa rồi")
    user.press(user.with_button("Nhắn tin ngay tại đây"), "Nhắn tin ngay tại đây")
    user.press(user.with_button("Gửi yêu cầu"), "Gửi yêu cầu")
    queued = user.next_where(lambda m: re.search(r"AT-[A-Z0-9]{5}", m["text"] or ""),
                             "the case code")
    code = re.search(r"AT-[A-Z0-9]{5}", queued["text"]).group(0)
    staff(service.counselor_home, "counselor", "claim", code)
    user.press(user.with_button("Xem"), "Xem")
    user.next_where(lambda m: "Tư vấn viên Lan" in (m["text"] or ""), "the counselor's hello")
    return code


# --- what must hold after every fault ------------------------------------------------


def _ask_everyone(service: Service, text: str) -> dict[int, int]:
    """Every user sends ``text``; how many replies each had before."""
    before = {chat: len(service.standin.sent(chat)) for chat in USERS}
    for chat in USERS:
        service.standin.user_message(chat, text)
    return before


def _until_everyone_answered(service: Service, before: dict[int, int]) -> None:
    sent = service.standin.sent
    _until(lambda: all(len(sent(c)) > before[c] for c in USERS), "every user got a reply")


def _everyone_answered(service: Service, text: str) -> None:
    _until_everyone_answered(service, _ask_everyone(service, text))


def _crisis_answered_first(service: Service, chat: int) -> dict:
    person = TelegramUser(service.standin, chat, len(service.standin.sent(chat)))
    person.say(CRISIS)
    first = person.next_reply()
    assert "113" in first["text"] or "111" in first["text"], first["text"]
    return first


def _relay_starts(service: Service, tag: str) -> None:
    """The user writes to the counselor and the counselor replies, in the middle of a fault."""
    line, answer = f"em vẫn ổn ({tag})", f"Chị vẫn ở đây ({tag})."
    service.user.say(line)
    staff(service.counselor_home, "counselor", "reply", service.code, stdin=answer)
    service.relayed.append((line, answer))


def _relay_arrives(service: Service) -> None:
    line, answer = service.relayed[-1]
    user = service.user
    user.press(user.with_button("Xem"), "Xem")
    user.next_where(lambda m: answer in (m["text"] or ""), f"the counselor's {answer!r}")
    _until(lambda: line in staff(service.counselor_home, "counselor", "read", service.code),
           f"the counselor can read {line!r}")


def _recovered(service: Service) -> None:
    """Every process is ready again, by itself."""
    urls = [f"http://127.0.0.1:{port}/readyz" for port in service.ports("ANTAM_OPS_PORT")]
    urls.append(f"http://127.0.0.1:{service.env['ANTAM_API_PORT']}/readyz")
    _until(lambda: all(_ready(url) for url in urls), "every process ready again")


def _ready(url: str) -> bool:
    try:
        answer = httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return False
    parts = answer.json().get("parts", {}) if answer.status_code == 200 else {}
    return answer.status_code == 200 and all(state == "ok" for state in parts.values())


def _worker_logs(service: Service) -> str:
    logs = Path(service.env["ANTAM_VAR_DIR"]) / "log"
    return "".join((logs / f"bot-{n}.log").read_text() for n in (1, 2))


# --- the faults, in turn ---------------------------------------------------------------


def test_telegram_answering_5xx_and_429(service):
    service.standin.fail_next("sendMessage", error_code=502, times=3)
    service.standin.fail_next("sendMessage", error_code=500, times=2)
    _crisis_answered_first(service, USERS[0])
    service.standin.fail_next("sendMessage", retry_after=1, times=2)
    _everyone_answered(service, "xin chào")
    _relay_starts(service, "telegram")
    _relay_arrives(service)
    _recovered(service)


def test_a_rasa_instance_answering_after_5_s(service):
    rasa = service.pids["rasa-1"]
    os.killpg(rasa, signal.SIGSTOP)  # it stalls mid-work and answers when resumed
    resume = threading.Timer(5.0, os.killpg, (rasa, signal.SIGCONT))
    resume.start()
    try:
        _crisis_answered_first(service, USERS[1])
        _everyone_answered(service, QUESTION)
        _relay_starts(service, "rasa")
    finally:
        resume.join()
    _relay_arrives(service)
    _recovered(service)


def test_a_rasa_instance_killed(service):
    os.killpg(service.pids["rasa-1"], signal.SIGKILL)
    _crisis_answered_first(service, USERS[4])
    _everyone_answered(service, QUESTION)
    _relay_starts(service, "rasa killed")
    _relay_arrives(service)
    _recovered(service)  # the supervisor starts rasa-1 again and the API sees it ready


def test_redis_stopped_and_started_again(service):
    service.redis.stop()
    _crisis_answered_first(service, USERS[2])
    _everyone_answered(service, QUESTION)
    _relay_starts(service, "redis")
    _relay_arrives(service)
    service.redis.start()
    _recovered(service)
    _everyone_answered(service, "xin chào")
    _until(lambda: service.redis.cli("--scan", "--pattern", "antam:tracker:*"),
           "conversations shared through Redis again")


def test_postgres_restarted(service):
    claims_failed = _worker_logs(service).count("cannot claim an update")
    service.postgres.stop()
    crisis = TelegramUser(service.standin, USERS[3], len(service.standin.sent(USERS[3])))
    crisis.say(CRISIS)
    first = crisis.next_reply()  # while the database is still away
    assert "113" in first["text"] or "111" in first["text"], first["text"]
    asked = _ask_everyone(service, QUESTION)
    line, answer = "em vẫn ổn (postgres)", "Chị vẫn ở đây (postgres)."
    service.user.say(line)
    _until(lambda: _worker_logs(service).count("cannot claim an update") > claims_failed + 3,
           "updates refused while the database is away")
    service.postgres.start()
    _until_everyone_answered(service, asked)
    staff(service.counselor_home, "counselor", "reply", service.code, stdin=answer)
    service.relayed.append((line, answer))
    _relay_arrives(service)
    _recovered(service)


def test_nothing_relayed_was_lost_or_sent_twice(service):
    settle_until = time.monotonic() + SETTLE_S
    while time.monotonic() < settle_until:
        time.sleep(0.2)
    transcript = staff(service.counselor_home, "counselor", "read", service.code)
    seen_by_user = [m["text"] or "" for m in service.standin.sent(CASE_CHAT)]
    for line, answer in service.relayed:
        assert transcript.count(line) == 1, f"{line!r} reached the counselor once"
        assert sum(answer in text for text in seen_by_user) == 1, f"{answer!r} shown once"
