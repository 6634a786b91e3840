"""A fixed slice of the evaluation sets, so that a regression fails CI (`make eval` runs
them whole). Every fourth case, from sets written apart from the training data."""

from __future__ import annotations

import pytest

from bot import nlu_eval
from tests.helpers import ROOT

pytestmark = pytest.mark.stack
SETS = ROOT / "tests" / "nlu_eval"


def every_fourth(items: list) -> list:
    return items[::4]


def _conversations(new_topics: bool) -> list[dict]:
    cases = nlu_eval.load_cases(SETS / "conversations.yml")
    return [c for c in cases if c["kind"].startswith("new_topic") == new_topics]


def test_follow_ups_and_specific_questions_get_the_right_entry(stack):
    cases = every_fourth(_conversations(new_topics=False))
    figures = nlu_eval.conversation_report(nlu_eval.run_conversations(cases, stack.env))
    assert figures["right_entry"] >= 0.9, figures["wrong"]


def test_new_topics_are_reached_by_typing(stack):
    cases = every_fourth(_conversations(new_topics=True))
    figures = nlu_eval.conversation_report(nlu_eval.run_conversations(cases, stack.env))
    # A regression guard: this slice measured 29 of 33 once the matcher could answer
    # disclosures and the guides had more example questions (docs/nlu.md).
    assert figures["right_entry"] >= NEW_TOPICS_MIN, figures["wrong"]


NEW_TOPICS_MIN = 0.85


def test_crisis_sentences_always_get_the_emergency_reply_first(stack):
    sets = nlu_eval.load_precision(SETS / "precision.yml")
    sets = {"harmless": every_fourth(sets["harmless"]), "crisis": every_fourth(sets["crisis"])}
    figures = nlu_eval.run_precision(sets, stack.env)
    assert figures["crisis_recall"] == 1.0, figures["missed"]
    # A regression guard, not the target (none): what this slice measured after the
    # net and the training data were revised on 2026-11-30, 5 of its 43 harmless
    # sentences (6 before; docs/nlu.md).
    assert len(figures["false_alarms"]) <= ALARMS_ALLOWED, figures["false_alarms"]


ALARMS_ALLOWED = 5
