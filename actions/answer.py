"""Answer an intent with the entry content/answers.yml names for it.

Editors decide which guide, legal fact or message answers which intent.
Crisis intents get a marker instead of text: the bot's core owns the one
emergency reply, so it is sent exactly once, Rasa up or down.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.content_source import store
from actions.dispatch import Events, entity, latest_intent, send
from common.content import render, render_ref

CAMPAIGN = ((11, 15), (12, 15))  # Tháng hành động, 15/11–15/12 every year
CHANNEL_MESSAGES = {"quick_exit": "quick_exit_done", "delete_my_data": "data_deleted"}


def in_campaign(today: dt.date) -> bool:
    start, end = CAMPAIGN
    return start <= (today.month, today.day) <= end


def greeting_key(today: dt.date) -> str:
    return "greeting_campaign" if in_campaign(today) else "greeting"


class ActionAnswer(Action):
    def name(self) -> str:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> Events:
        content = store.get()
        answer = content.answers.get(latest_intent(tracker), "message:fallback")
        kind, _, key = answer.partition(":")
        if kind == "crisis":
            dispatcher.utter_message(json_message={"emergency": key})
        elif kind == "channel":
            send(dispatcher, render(content, CHANNEL_MESSAGES[key]))
            dispatcher.utter_message(json_message={"channel_action": key})
        elif answer == "message:greeting":
            send(dispatcher, render(content, greeting_key(dt.date.today())))
        else:
            send(dispatcher, render_ref(content, answer))
        return []


class ActionShowEntry(Action):
    """A button such as "Xem thêm" or "Bạo lực kinh tế": show one entry."""

    def name(self) -> str:
        return "action_show_entry"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> Events:
        content = store.get()
        part = "details" if entity(tracker, "part") == "details" else "short"
        try:
            send(dispatcher, render_ref(content, str(entity(tracker, "ref")), part))
        except KeyError:  # an old button whose entry was removed or unverified
            send(dispatcher, render(content, "fallback"))
        return []


class ActionAskRephrase(Action):
    """Low NLU confidence: ask, do not guess."""

    def name(self) -> str:
        return "action_ask_rephrase"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> Events:
        send(dispatcher, render(store.get(), "fallback"))
        return []
