"""When the emergency reply goes out: the safety net's signal weighed with the model's."""

import pytest

from bot.core import crisis_kind
from bot.rasa_client import NluAnswer
from bot.safety import Signal


def answer(intent: str, confidence: float, **ranking: float) -> NluAnswer:
    ranked = ((intent, confidence), *ranking.items())
    return NluAnswer(intent, confidence, (), (), ranked)


CALM = answer("out_of_scope", 0.9, ask_menu=0.05)
UNSURE = answer("nlu_fallback", 0.3, out_of_scope=0.25)
HINTING = answer("out_of_scope", 0.7, danger_now=0.25)


def test_a_certain_match_always_brings_the_emergency_reply():
    assert crisis_kind(Signal("danger_now", certain=True), CALM) == "danger_now"


@pytest.mark.parametrize("model", [None, UNSURE, HINTING])
def test_an_uncertain_match_stands_when_the_model_is_down_unsure_or_hints_at_a_crisis(model):
    assert crisis_kind(Signal("self_harm", certain=False), model) == "self_harm"


def test_only_a_confident_harmless_reading_overrules_an_uncertain_match():
    assert crisis_kind(Signal("danger_now", certain=False), CALM) is None


@pytest.mark.parametrize("intent", ["ask_safety_plan", "ask_what_to_do",
                                    "report_domestic_violence"])
def test_a_question_about_what_to_do_or_a_disclosure_never_overrules_a_match(intent):
    """"lam sao de treo co ma khong bi dau" reads as a safety-plan question at 0.67."""
    assert crisis_kind(Signal("self_harm", certain=False), answer(intent, 0.9)) == "self_harm"


def test_a_confident_legal_reading_still_overrules_a_named_act():
    """"tội hiếp dâm" in a question about the law is named, not told."""
    assert crisis_kind(Signal("danger_now", certain=False), answer("ask_legal_rights", 0.9)) is None


def test_the_model_alone_can_signal_a_crisis():
    assert crisis_kind(None, answer("danger_now", 0.8)) == "danger_now"
    assert crisis_kind(None, answer("ask_hotline", 0.5, self_harm=0.45)) == "self_harm"
    assert crisis_kind(None, CALM) is None


def test_self_harm_wins_between_kinds():
    assert crisis_kind(Signal("danger_now", certain=True), answer("self_harm", 0.7)) == "self_harm"
