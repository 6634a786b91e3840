"""Two bot workers share Telegram's webhook on one port (SO_REUSEPORT) and the real
PostgreSQL. Users talk through the Bot API stand-in, which delivers updates to the webhook
and retries what was not acknowledged, as Telegram does. One worker is killed with SIGKILL
while messages are in flight: every message still gets its reply, once unless the killed
worker had sent it and died before recording it (then it is answered again after the lease:
at least once, by design), a crisis message gets the emergency reply first, a button sent
by one worker is answered by the other, Telegram's 429 is waited out, and the killed worker
comes back by itself."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.stack import free_ports
from tests.fakes.telegram_api import TelegramStandIn
from tests.helpers import free_port
from tests.stack import running_up, stack_env

pytestmark = [pytest.mark.stack, pytest.mark.postgres]
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
USERS = [7_000_000 + n for n in range(20)]
WAIT_S = 120  # for events: replies arriving, a worker restarting


@pytest.fixture(scope="module")
def schema():
    name = f"antam_workers_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f'create schema "{name}"'))
    yield f"{POSTGRES}?options=-csearch_path%3D{name}"
    with admin.begin() as connection:
        connection.execute(text(f'drop schema "{name}" cascade'))
    admin.dispose()


@pytest.fixture(scope="module")
def workers(schema, tmp_path_factory):
    with TelegramStandIn() as standin:
        port = free_port()
        env = stack_env(tmp_path_factory.mktemp("var"))
        env.update(DATABASE_URL=schema, ANTAM_BOT_WORKERS="2", ANTAM_OPS_PORT=str(free_ports(2)),
                   TELEGRAM_BOT_TOKEN=standin.token, TELEGRAM_BASE_URL=standin.base_url,
                   TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/webhook",
                   TELEGRAM_WEBHOOK_SECRET="s" * 32, TELEGRAM_WEBHOOK_PORT=str(port),
                   TELEGRAM_UPDATE_LEASE_S="5")
        with running_up(env) as (_, printed):
            yield standin, env, printed


def _replies(standin: TelegramStandIn, chat: int) -> list[dict]:
    return standin.sent(chat)


def _until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S  # waits for an event; the bound only stops a hang
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


def _round(standin: TelegramStandIn, message: str, before: dict[int, int]) -> None:
    for chat in USERS:
        standin.user_message(chat, message)
    _until(lambda: all(len(_replies(standin, c)) > before[c] for c in USERS),
           f"every user got a reply to {message!r}")


def test_workers_share_the_webhook_and_lose_nothing_when_one_is_killed(workers):
    standin, env, printed = workers
    pids = {line.split()[0]: int(line.split()[1].removeprefix("pid="))
            for line in printed if " pid=" in line}
    assert {"bot-1", "bot-2", "api"} <= set(pids), printed

    start = {c: 0 for c in USERS}
    _round(standin, "xin chào", start)
    one = {c: len(_replies(standin, c)) for c in USERS}
    assert all(one.values()), one
    logs = Path(env["ANTAM_VAR_DIR"]) / "log"
    served = {w: (logs / f"{w}.log").read_text().count("turn channel=telegram")
              for w in ("bot-1", "bot-2")}
    assert all(served.values()), f"the kernel spreads updates over both workers: {served}"

    # A worker dies while the second round is in flight.
    second = {chat: standin.user_message(chat, "xin chào")["update_id"] for chat in USERS}
    os.killpg(pids["bot-1"], signal.SIGKILL)
    _until(lambda: all(len(_replies(standin, c)) >= 2 * one[c] for c in USERS),
           "every message of the second round answered")
    # Once every update is acknowledged nothing is delivered again, and a worker replies
    # before it acknowledges: every reply, repeats included, has arrived.
    _until(lambda: all(u in standin.webhook_attempts for u in second.values()),
           "Telegram got an acknowledgement for every update")
    two = {c: len(_replies(standin, c)) for c in USERS}
    assert all(two[c] >= 2 * one[c] for c in USERS), "no message lost with the worker"
    # A reply that left the killed worker before it recorded the update cannot be told
    # apart from one it never sent: that update is answered again (a rare duplicate beats
    # a lost reply). Nothing else may repeat: only a redelivered update, and only once.
    repeated = [c for c in USERS if two[c] > 2 * one[c]]
    assert all(two[c] <= 3 * one[c] for c in repeated), two
    assert all(standin.webhook_attempts[second[c]] > 1 for c in repeated), (
        "a repeat without a redelivery: two workers answered one delivery")
    retried = sum(1 for u in second.values() if standin.webhook_attempts[u] > 1)
    print(f"updates per worker before the kill: {served}; redelivered after it: {retried}; "
          f"answered again: {len(repeated)}")

    # Flood control on the surviving worker: the reply still arrives.
    standin.fail_next("sendMessage", retry_after=1)
    crisis_chat = USERS[0]
    before = len(_replies(standin, crisis_chat))
    standin.user_message(crisis_chat, "tôi muốn chết")
    _until(lambda: len(_replies(standin, crisis_chat)) > before, "a reply to the crisis message")
    first = _replies(standin, crisis_chat)[before]["text"]
    assert "111" in first or "113" in first, first

    # A button sent by one worker is answered by whichever worker receives the press.
    menu_chat = USERS[1]
    before = len(_replies(standin, menu_chat))
    standin.command(menu_chat, "/menu")
    _until(lambda: len(_replies(standin, menu_chat)) > before, "the menu")
    menu = next(m for m in reversed(_replies(standin, menu_chat)) if m.get("reply_markup"))
    buttons = [b for row in menu["reply_markup"]["inline_keyboard"] for b in row]
    pressed = len(_replies(standin, menu_chat))
    for _ in range(4):  # four presses spread over the workers by the kernel
        standin.callback_query(menu_chat, buttons[0]["callback_data"], menu["message_id"])
    _until(lambda: len(_replies(standin, menu_chat)) >= pressed + 4, "every press answered")
    expired = [m for m in _replies(standin, menu_chat)[pressed:] if "hết hạn" in m["text"]]
    assert not expired, "a button is known to every worker"

    # The killed worker is restarted by the supervisor and reports healthy again.
    ops = int(env["ANTAM_OPS_PORT"])
    _until(lambda: _healthy(f"http://127.0.0.1:{ops}/readyz"), "bot-1 back")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
