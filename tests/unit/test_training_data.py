"""The training data meets the NLU issue's contract (counts, forms, distinctness)."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
import yaml

from common.intents import CONTRACT_INTENTS
from common.textnorm import fold, load_lexicon, strip_accents
from tests.helpers import ROOT

CONTRACT = set(CONTRACT_INTENTS)
HIGH_STAKES = {"danger_now", "self_harm", "report_workplace_harassment",
               "report_domestic_violence", "report_sexual_violence", "report_online_abuse"}
LEXICON = load_lexicon(ROOT / "nlu" / "lexicon" / "abbreviations.yml")


def _examples() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / "nlu" / "data").rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu", []):
            if "intent" in block:
                lines = block["examples"].splitlines()
                found[block["intent"]] += [ln.strip()[2:].strip() for ln in lines
                                           if ln.strip().startswith("- ")]
    return found


EXAMPLES = _examples()
ALL = [text for texts in EXAMPLES.values() for text in texts]


def is_plain(text: str) -> bool:
    return strip_accents(text) == text


def is_teen(text: str) -> bool:
    """Uses an abbreviation from the lexicon (teencode, short forms)."""
    return fold(text, LEXICON) != fold(text)


def test_every_contract_intent_has_training_data():
    assert set(EXAMPLES) >= CONTRACT


@pytest.mark.parametrize("intent", sorted(CONTRACT))
def test_enough_distinct_examples(intent):
    distinct = {fold(t) for t in EXAMPLES.get(intent, [])}
    assert len(distinct) >= (80 if intent in HIGH_STAKES else 40)


def test_forms_are_mixed():
    plain = sum(map(is_plain, ALL)) / len(ALL)
    teen = sum(map(is_teen, ALL)) / len(ALL)
    assert plain >= 0.35, f"only {plain:.0%} without diacritics"
    assert teen >= 0.15, f"only {teen:.0%} in teencode or abbreviations"


def test_no_example_is_an_accent_stripped_copy_of_another():
    counts = Counter(fold(t) for t in ALL)
    copies = [text for text, n in counts.items() if n > 1]
    assert not copies, copies[:10]
