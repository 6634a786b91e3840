"""Rasa instances share conversations through the machine's real Redis, sealed: Redis holds
no word in plaintext, forgets a conversation after its quiet period, and loses it at once on
a wipe. A key that cannot open a tracker, or a Redis that is away, gives one log line and a
conversation that goes on, never a crash.

The stores run inside Rasa (Python 3.10), so the checks run in that runtime."""

from __future__ import annotations

import json
import subprocess
import uuid

from tests.helpers import ROOT, free_port

PROBE = """
import asyncio, json, logging, os, sys
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from nlu.redis_stores import EncryptedRedisTrackerStore, FailSoftRedisLockStore
from nlu.tracker_sealing import TrackerSeal

warnings = []
class Catch(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            warnings.append(record.getMessage())
logging.getLogger("nlu").addHandler(Catch())

prefix, dead_port = sys.argv[1], int(sys.argv[2])
domain = Domain.load("nlu/domain.yml")

def store(secrets="k1-" + "x" * 40, port=6379):
    return EncryptedRedisTrackerStore(domain, host="127.0.0.1", port=port, key_prefix=prefix,
                                      quiet_minutes=30, seal=TrackerSeal(secrets.split(",")))

def said(sender, text, *events):
    return DialogueStateTracker.from_events(sender, [UserUttered(text), *events],
                                            slots=domain.slots)

async def main():
    seen = {}
    a, b = store(), store()  # two Rasa instances
    await a.save(said("alice", "chong toi danh toi", SlotSet("topic", "domestic")))
    got = await b.retrieve("alice")
    seen["other_instance_sees_topic"] = got.get_slot("topic") if got else None
    raw = a._red.get(prefix + ":tracker:alice")
    seen["plaintext_in_redis"] = b"chong" in raw or b"domestic" in raw
    seen["ttl_is_quiet_period"] = 1700 < a._red.ttl(prefix + ":tracker:alice") <= 1800
    seen["keys"] = sorted(await a.keys())

    rotated = store("k2-" + "y" * 40 + ",k1-" + "x" * 40)
    got = await rotated.retrieve("alice")
    seen["rotated_key_opens_old"] = got is not None and got.get_slot("topic") == "domestic"

    a._red.set(prefix + ":tracker:bob", raw)  # alice's blob moved to bob's key
    seen["moved_blob_opens"] = await b.retrieve("bob") is not None
    stranger = store("another-" + "z" * 40)
    seen["wrong_key_opens"] = await stranger.retrieve("alice") is not None
    seen["undecryptable_deleted"] = a._red.exists(prefix + ":tracker:alice") == 0

    await a.save(said("carol", "xin chao"))
    await b.save(DialogueStateTracker.from_events("carol", []))  # the bot's wipe via b
    seen["wiped_everywhere"] = (await a.retrieve("carol") is None
                                and a._red.exists(prefix + ":tracker:carol") == 0)

    before = len(warnings)
    away = store(port=dead_port)
    for n in range(3):
        await away.save(said("dave", f"tin {n}", SlotSet("topic", "online")))
    got = await away.retrieve("dave")
    seen["redis_away_keeps_topic"] = got.get_slot("topic") if got else None
    seen["redis_away_log_lines"] = len(warnings) - before

    locks = FailSoftRedisLockStore(EndpointConfig(url="127.0.0.1", port=dead_port,
                                                  key_prefix=prefix))
    async with locks.lock("dave"):
        seen["lock_without_redis"] = True
    shared = FailSoftRedisLockStore(EndpointConfig(url="127.0.0.1", port=6379,
                                                   key_prefix=prefix))
    async with shared.lock("erin"):
        seen["lock_held_in_redis"] = shared.red.exists(prefix + ":lock:erin") == 1
    seen["warnings"] = warnings
    for key in a._red.scan_iter(prefix + ":*"):
        a._red.delete(key)
    print(json.dumps(seen))

asyncio.run(main())
"""


def test_instances_share_sealed_conversations_and_survive_bad_keys_and_a_missing_redis():
    prefix = "t" + uuid.uuid4().hex[:12]
    done = subprocess.run([str(ROOT / ".venv-rasa" / "bin" / "python"), "-c", PROBE, prefix,
                           str(free_port())], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    warnings = seen.pop("warnings")
    assert seen == {
        "other_instance_sees_topic": "domestic", "plaintext_in_redis": False,
        "ttl_is_quiet_period": True, "keys": ["alice"], "rotated_key_opens_old": True,
        "moved_blob_opens": False, "wrong_key_opens": False, "undecryptable_deleted": True,
        "wiped_everywhere": True, "redis_away_keeps_topic": "online",
        "redis_away_log_lines": 1, "lock_without_redis": True, "lock_held_in_redis": True}
    assert any("could not be opened" in w for w in warnings)
    assert not any("chong" in w or "alice" in w for w in warnings), "logs name no one"
