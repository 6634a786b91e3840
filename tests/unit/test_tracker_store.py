"""Rasa forgets a conversation, and with it the topic it remembered, after its quiet
period, and at once when the bot wipes it.

The store runs inside Rasa (Python 3.10), so the checks run in that runtime, with a clock
the probe moves by hand."""

from __future__ import annotations

import json
import subprocess

from tests.helpers import ROOT

PROBE = """
import asyncio, json
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from nlu.tracker_store import ExpiringInMemoryTrackerStore

now = [1000.0]
domain = Domain.load("nlu/domain.yml")
store = ExpiringInMemoryTrackerStore(domain, quiet_minutes=30, clock=lambda: now[0])

def said(sender, text, *events):
    return DialogueStateTracker.from_events(sender, [UserUttered(text), *events],
                                            slots=domain.slots)

async def main():
    seen = {}
    await store.save(said("alice", "chong toi danh toi", SlotSet("topic", "domestic")))
    await store.save(said("bob", "xin chao"))
    now[0] += 29 * 60
    alice = await store.retrieve("alice")
    seen["alice_topic_after_29_min"] = alice.get_slot("topic") if alice else None
    await store.save(said("bob", "van o day"))  # bob keeps talking
    now[0] += 2 * 60
    seen["alice_after_31_min"] = await store.retrieve("alice") is not None
    seen["bob_still_talking"] = await store.retrieve("bob") is not None
    seen["alice_text_in_memory"] = "chong toi" in json.dumps(store.store)
    await store.save(DialogueStateTracker.from_events("bob", []))  # the bot's wipe
    seen["bob_after_wipe"] = await store.retrieve("bob") is not None
    for n in range(500):
        await store.save(said(f"user{n}", "xin chao"))
    now[0] += 31 * 60
    seen["left_after_a_quiet_hour"] = len(list(await store.keys()))
    print(json.dumps(seen))

asyncio.run(main())
"""


def test_conversations_expire_after_the_quiet_period_and_wipes_leave_nothing():
    done = subprocess.run([str(ROOT / ".venv-rasa" / "bin" / "python"), "-c", PROBE],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "alice_topic_after_29_min": "domestic", "alice_after_31_min": False,
        "bob_still_talking": True, "alice_text_in_memory": False, "bob_after_wipe": False,
        "left_after_a_quiet_hour": 0}
