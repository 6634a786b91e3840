"""Two Rasa instances sharing sealed conversations through the machine's real Redis: kill
the instance serving a conversation in the middle of it, and the other one answers the next
message in the same topic; a crisis message still gets the emergency reply first; /xoa
leaves nothing in Redis; and the killed instance comes back by itself."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
import uuid

import httpx
import pytest

from bot.pseudonym import pseudonymise
from bot.rasa_instances import InstancePool
from bot.stack import free_ports
from tests.helpers import ROOT
from tests.stack import ANTAM, STARTUP_TIMEOUT, running_up, stack_env

pytestmark = pytest.mark.stack
REDIS = "redis://127.0.0.1:6379/0"


class Chat:
    """A console user session kept open across the fault (one JSON line per turn)."""

    def __init__(self, env: dict[str, str]):
        self._process = subprocess.Popen([ANTAM, "chat", "--jsonl"], env=env, cwd=ROOT,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, text=True)
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in iter(self._process.stdout.readline, ""):
            self._lines.put(json.loads(line))

    def say(self, sender: str, text: str) -> dict:
        self._process.stdin.write(json.dumps({"sender": sender, "text": text}) + "\n")
        self._process.stdin.flush()
        return self._lines.get(timeout=120)

    def close(self) -> None:
        self._process.stdin.close()
        self._process.wait(timeout=60)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("var")
    env = stack_env(var_dir)
    prefix = "t" + uuid.uuid4().hex[:12]
    env.update(ANTAM_RASA_PORT=str(free_ports(2)), ANTAM_ACTIONS_PORT=str(free_ports(2)),
               ANTAM_RASA_INSTANCES="2", REDIS_URL=REDIS, ANTAM_REDIS_PREFIX=prefix)
    with running_up(env) as (_, printed):
        yield env, printed, prefix, var_dir


def _redis(*args: str) -> str:
    return subprocess.run(["redis-cli", *args], capture_output=True, text=True,
                          check=True).stdout


def _entries(record: dict) -> list[str]:
    return record.get("entries") or []


def _ready_parts(env: dict[str, str]) -> dict[str, str]:
    try:
        return httpx.get(f"http://127.0.0.1:{env['ANTAM_API_PORT']}/readyz").json()["parts"]
    except httpx.HTTPError:
        return {}


def _users_on_each(pool: InstancePool, key: str, per_instance: int) -> list[str]:
    """Users that the bot's routing spreads over both instances, those of the first first.

    The pseudonym key is new each run, so a fixed handful of names can all land on one
    instance (1 run in 128 with eight): pick names until each instance has its share."""
    served: dict[str, list[str]] = {url: [] for url in pool.urls}
    for user in (f"user-{n}" for n in range(1000)):
        first = served[pool.order(pseudonymise(key, "console", user))[0]]
        if len(first) < per_instance:
            first.append(user)
        if all(len(names) == per_instance for names in served.values()):
            return [name for names in served.values() for name in names]
    raise AssertionError("the routing never chose one of the instances")


def test_a_killed_instance_hands_its_conversations_over_and_comes_back(pair):
    env, printed, prefix, var_dir = pair
    pids = {line.split()[0]: int(line.split()[1].removeprefix("pid="))
            for line in printed if " pid=" in line}
    assert {"rasa-1", "rasa-2", "actions-1", "actions-2"} <= set(pids)
    rasa = int(env["ANTAM_RASA_PORT"])
    urls = (f"http://127.0.0.1:{rasa}", f"http://127.0.0.1:{rasa + 1}")
    key = (var_dir / "pseudonym.key").read_text().strip()
    pool = InstancePool(urls)  # the bot's own routing, to find who serves whom
    users = _users_on_each(pool, key, per_instance=4)
    victim = users[0]  # served by the first instance
    pseudonym = pseudonymise(key, "console", victim)

    chat = Chat(env)
    try:
        for user in users:  # everyone starts a conversation
            assert chat.say(user, "chồng em đánh em")["replies"]
        stored = _redis("--no-raw", "get", f"{prefix}:tracker:{pseudonym}")
        assert stored.strip() not in ("", "(nil)") and "ch\\xe1\\xbb\\x93ng" not in stored
        assert "đánh" not in stored and "domestic" not in stored

        os.killpg(pids["rasa-1"], signal.SIGKILL)  # the victim's instance dies
        follow_up = chat.say(victim, "báo ở đâu")
        assert not follow_up.get("degraded"), "the other instance answers at once"
        assert "legal:dv_reporting" in _entries(follow_up), follow_up
        answered = [chat.say(u, "tôi có quyền gì") for u in users]
        assert all(r["replies"] for r in answered), "every message got a reply"
        crisis = chat.say(victim, "nó đang cầm dao đòi giết em")
        assert crisis["crisis"] and "113" in crisis["replies"][0]["text"]

        assert chat.say(victim, "/xoa")["replies"]
        assert _redis("exists", f"{prefix}:tracker:{pseudonym}").strip() == "0"
    finally:
        chat.close()
    deadline = time.monotonic() + STARTUP_TIMEOUT  # waits for an event, not a speed
    while _ready_parts(env).get("rasa-1") != "ok":
        assert time.monotonic() < deadline, "the killed instance never came back"
        time.sleep(1)
    assert _ready_parts(env) == {"database": "ok", "rasa-1": "ok", "rasa-2": "ok",
                                 "actions-1": "ok", "actions-2": "ok"}
