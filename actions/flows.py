"""One-question-at-a-time flows with buttons: the awareness quiz and the self-check.

State lives in a slot of the in-memory tracker; nothing is stored elsewhere.
Every question offers "Dừng". A message typed in the middle gets its own answer and a
button to continue (``resume_buttons``); starting again while a round is open resumes
it at the question it reached instead of losing the progress.
"""

from __future__ import annotations

import random
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.content_source import content_for
from actions.dispatch import Events, as_int, entity, send
from common.content import Button, Content, Rendered, render, render_ref
from common.content.model import QUIZ_ROUND

STOP_QUIZ = Button("Dừng", "/quiz_stop")
STOP_SELFCHECK = Button("Dừng", "/selfcheck_stop")
RESUME_QUIZ = Button("Tiếp tục câu đố", "/start_quiz")
RESUME_SELFCHECK = Button("Tiếp tục tự kiểm tra", "/selfcheck_start")
SKIP = -1  # the self-check's "Bỏ qua": neither yes nor no


def _choice(index: int, intent: str) -> str:
    return f'/{intent}{{"choice":{index}}}'


def resume_buttons(tracker: Tracker) -> List[Button]:
    """A way back into a quiz or self-check the user left by typing something else."""
    return ([RESUME_QUIZ] if tracker.get_slot("quiz") else []) + (
        [RESUME_SELFCHECK] if tracker.get_slot("selfcheck") else [])


def _filled(content: Content, key: str, **values: Any) -> Rendered:
    rendered = render(content, key)
    return Rendered(rendered.text.format(**values), rendered.buttons)


# --- quiz -------------------------------------------------------------------

def _ask_quiz(dispatcher: CollectingDispatcher, content: Content, state: Dict) -> None:
    question = content.quiz[state["order"][state["index"]]]
    number, total = state["index"] + 1, len(state["order"])
    buttons = [Button(option, _choice(i, "quiz_answer"))
               for i, option in enumerate(question.options)]
    send(dispatcher, Rendered(f"Câu {number}/{total}: {question.question}",
                              tuple(buttons)), [STOP_QUIZ])


class ActionQuizStart(Action):
    def name(self) -> str:
        return "action_quiz_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> Events:
        content, state = content_for(tracker), tracker.get_slot("quiz")
        if state and all(qid in content.quiz for qid in state["order"]):
            _ask_quiz(dispatcher, content, state)  # resume where the round was left
            return []
        pool = [q.id for q in content.verified_quiz()]
        order = random.sample(pool, min(QUIZ_ROUND, len(pool)))
        state = {"order": order, "index": 0, "score": 0}
        send(dispatcher, _filled(content, "quiz_intro", total=len(order)))
        _ask_quiz(dispatcher, content, state)
        return [SlotSet("quiz", state)]


class ActionQuizAnswer(Action):
    def name(self) -> str:
        return "action_quiz_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> Events:
        content, state = content_for(tracker), tracker.get_slot("quiz")
        if not state or state["order"][state["index"]] not in content.quiz:
            send(dispatcher, render(content, "quiz_none"))
            return [SlotSet("quiz", None)]
        question = content.quiz[state["order"][state["index"]]]
        correct = as_int(entity(tracker, "choice")) == question.answer
        state = dict(state, score=state["score"] + int(correct), index=state["index"] + 1)
        if correct:
            send(dispatcher, _filled(content, "quiz_correct", explanation=question.explanation))
        else:
            send(dispatcher, _filled(content, "quiz_wrong", explanation=question.explanation,
                                     answer=question.options[question.answer]))
        if state["index"] < len(state["order"]):
            _ask_quiz(dispatcher, content, state)
            return [SlotSet("quiz", state)]
        send(dispatcher, _filled(content, "quiz_done", score=state["score"],
                                 total=len(state["order"])))
        return [SlotSet("quiz", None)]


class ActionQuizStop(Action):
    def name(self) -> str:
        return "action_quiz_stop"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> Events:
        content, state = content_for(tracker), tracker.get_slot("quiz")
        if not state:
            send(dispatcher, render(content, "quiz_none"))
        else:
            send(dispatcher, _filled(content, "quiz_stopped", score=state["score"],
                                     answered=state["index"]))
        return [SlotSet("quiz", None)]


# --- "Is this abuse?" self-check ----------------------------------------------

def _ask_selfcheck(dispatcher: CollectingDispatcher, content: Content, index: int) -> None:
    question = content.selfcheck[index]
    buttons = (Button("Có", _choice(1, "selfcheck_answer")),
               Button("Không", _choice(0, "selfcheck_answer")),
               Button("Bỏ qua", _choice(SKIP, "selfcheck_answer")))
    send(dispatcher, Rendered(f"{index + 1}/{len(content.selfcheck)}. {question.question}",
                              buttons), [STOP_SELFCHECK])


def _selfcheck_result(dispatcher: CollectingDispatcher, content: Content,
                      forms: List[str]) -> None:
    if not forms:
        send(dispatcher, render(content, "selfcheck_none"))
        return
    explainers = [e for e in content.explainers.values() if e.form in forms and e.fact.verified]
    labels = ", ".join(e.label.lower() for e in explainers) or ", ".join(forms)
    send(dispatcher, _filled(content, "selfcheck_result", forms=labels),
         [Button(e.label, f'/show_entry{{"ref":"explainer:{e.id}"}}') for e in explainers[:3]])


class ActionSelfCheckStart(Action):
    def name(self) -> str:
        return "action_selfcheck_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> Events:
        content, state = content_for(tracker), tracker.get_slot("selfcheck")
        if state and state["index"] < len(content.selfcheck):
            _ask_selfcheck(dispatcher, content, state["index"])  # resume
            return []
        send(dispatcher, _filled(content, "selfcheck_intro", total=len(content.selfcheck)))
        _ask_selfcheck(dispatcher, content, 0)
        return [SlotSet("selfcheck", {"index": 0, "forms": []})]


class ActionSelfCheckAnswer(Action):
    def name(self) -> str:
        return "action_selfcheck_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> Events:
        content, state = content_for(tracker), tracker.get_slot("selfcheck")
        if not state or state["index"] >= len(content.selfcheck):
            send(dispatcher, render(content, "selfcheck_none"))
            return [SlotSet("selfcheck", None)]
        forms, question = list(state["forms"]), content.selfcheck[state["index"]]
        if as_int(entity(tracker, "choice")) == 1:
            forms += [] if question.form in forms else [question.form]
            if question.danger:
                # The core puts the one emergency reply first; the safety plan follows.
                dispatcher.utter_message(json_message={"emergency": "danger_now"})
                send(dispatcher, render_ref(content, "guide:safety_plan"))
        index = state["index"] + 1
        if index < len(content.selfcheck):
            _ask_selfcheck(dispatcher, content, index)
            return [SlotSet("selfcheck", {"index": index, "forms": forms})]
        _selfcheck_result(dispatcher, content, forms)
        return [SlotSet("selfcheck", None)]


class ActionSelfCheckStop(Action):
    def name(self) -> str:
        return "action_selfcheck_stop"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> Events:
        state = tracker.get_slot("selfcheck") or {"forms": []}
        _selfcheck_result(dispatcher, content_for(tracker), state["forms"])
        return [SlotSet("selfcheck", None)]
