"""Answer an intent with the entry content/answers.yml names for it.

Editors decide which guide, legal fact or message answers which intent, in which
topic and for whom (the conversation's `topic` and `asker` slots). Where a row is
``specific``, the entry the NLU pipeline's entry matcher found answers instead, with
the row's own answer one button away. Every answer reports the entries it showed
({"entries": [...]}) so evaluations can score them.
Crisis intents get a marker instead of text: the bot's core owns the one
emergency reply, so it is sent exactly once, Rasa up or down.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.content_source import content_for
from actions.dispatch import Events, entity, latest_intent, send
from actions.flows import resume_buttons
from common.content import Content, render, render_ref
from common.content.render import with_more_choices

CAMPAIGN = ((11, 15), (12, 15))  # Tháng hành động, 15/11–15/12 every year
CHANNEL_MESSAGES = {"quick_exit": "quick_exit_done", "delete_my_data": "data_deleted"}
AGREEMENT = 0.2  # the matcher's score at which the row's own entry keeps its place


def in_campaign(today: dt.date) -> bool:
    start, end = CAMPAIGN
    return start <= (today.month, today.day) <= end


def greeting_key(today: dt.date) -> str:
    return "greeting_campaign" if in_campaign(today) else "greeting"


def matched_entry(tracker: Tracker) -> str | None:
    """The entry the NLU pipeline matched to this message, if it was confident."""
    entry = tracker.latest_message.get("entry") or {}
    ref = entry.get("ref") if isinstance(entry, dict) else None
    return ref if isinstance(ref, str) else None


def entry_score(tracker: Tracker, ref: str) -> float:
    """How strongly the entry matcher also saw ``ref`` in this message (0: not at all)."""
    entry = tracker.latest_message.get("entry") or {}
    ranking = entry.get("ranking") if isinstance(entry, dict) else None
    return max((float(score) for name, score in ranking or () if name == ref), default=0.0)


def chosen_answer(content: Content, tracker: Tracker) -> tuple[str, str | None]:
    """(the answer to show, the row's own answer when a specific entry replaces it)."""
    rule = content.answer_for(latest_intent(tracker), tracker.get_slot("topic"),
                              tracker.get_slot("asker"))
    entry = matched_entry(tracker) if rule.specific else None
    # When the matcher also sees the row's own entry, the intent and the matcher agree
    # on it: a manager's "what must I not do" keeps the manager's guide.
    agreed = entry_score(tracker, rule.answer) >= AGREEMENT
    if entry and entry != rule.answer and content.is_shown(entry) and not agreed:
        return entry, rule.answer
    return rule.answer, None


class ActionAnswer(Action):
    def name(self) -> str:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> Events:
        content = content_for(tracker)
        answer, instead_of = chosen_answer(content, tracker)
        kind, _, key = answer.partition(":")
        if kind == "crisis":
            dispatcher.utter_message(json_message={"emergency": key})
            return []
        if instead_of and instead_of.startswith("crisis:"):
            # The emergency reply first (the core's), then what the message asked about:
            # "anh ấy bóp cổ tôi" also gets the guide on strangulation.
            dispatcher.utter_message(json_message={"emergency": instead_of.partition(":")[2]})
            send(dispatcher, render_ref(content, answer))
            dispatcher.utter_message(json_message={"entries": [answer]})
            return []
        if kind == "channel":
            send(dispatcher, render(content, CHANNEL_MESSAGES[key]))
            dispatcher.utter_message(json_message={"channel_action": key})
            return []
        resume = resume_buttons(tracker)
        if answer == "message:greeting":
            send(dispatcher, render(content, greeting_key(dt.date.today())), resume)
        elif instead_of and content.is_shown(instead_of):
            send(dispatcher, with_more_choices(render_ref(content, answer), instead_of), resume)
        else:
            send(dispatcher, render_ref(content, answer), resume)
        if kind != "flow":
            # instead_of: a specific entry answered in place of the row's own answer.
            dispatcher.utter_message(json_message={"entries": [answer],
                                                   "instead_of": instead_of})
        return []


class ActionShowEntry(Action):
    """A button such as "Xem thêm" or "Bạo lực kinh tế": show one entry."""

    def name(self) -> str:
        return "action_show_entry"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> Events:
        content = content_for(tracker)
        part = "details" if entity(tracker, "part") == "details" else "short"
        ref = str(entity(tracker, "ref"))
        try:
            send(dispatcher, render_ref(content, ref, part), resume_buttons(tracker))
        except KeyError:  # an old button whose entry was removed or unverified
            ref = "message:fallback"
            send(dispatcher, render(content, "fallback"), resume_buttons(tracker))
        dispatcher.utter_message(json_message={"entries": [ref]})
        return []


class ActionAskRephrase(Action):
    """Low NLU confidence: ask, do not guess. A question one content entry answers
    confidently still gets that entry, with the main menu one button away."""

    def name(self) -> str:
        return "action_ask_rephrase"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> Events:
        content = content_for(tracker)
        entry = matched_entry(tracker)
        if entry and content.is_shown(entry):
            send(dispatcher, with_more_choices(render_ref(content, entry), "message:menu"),
                 resume_buttons(tracker))
        else:
            entry = "message:fallback"
            send(dispatcher, render(content, "fallback"), resume_buttons(tracker))
        dispatcher.utter_message(json_message={"entries": [entry]})
        return []
