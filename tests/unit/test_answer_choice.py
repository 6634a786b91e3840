"""Which entry answers: the row's own or the one the entry matcher found.

actions/ runs in the Rasa runtime (rasa-sdk), so the check runs there too.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.helpers import ROOT

PROBE = """
import json, sys
from pathlib import Path
from rasa_sdk import Tracker
from actions.answer import chosen_answer
from common.content import load_content
intent, entry = json.loads(sys.argv[1])
tracker = Tracker("t", {}, {"intent": {"name": intent}, "entry": entry}, [], False, None, {}, "")
print(json.dumps(chosen_answer(load_content(Path("content")), tracker)))
"""


def _choose(intent: str, entry: dict) -> list:
    done = subprocess.run([str(ROOT / ".venv-rasa" / "bin" / "python"), "-c", PROBE,
                           json.dumps([intent, entry])],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _entry(best: str, score: float, *others: tuple[str, float]) -> dict:
    return {"ref": best, "confidence": score, "ranking": [[best, score], *others]}


@pytest.mark.parametrize("intent, entry, shown", [
    # A disclosure that names a situation gets that situation's guide, the report's
    # own guide one button away.
    ("help_someone_else", _entry("guide:after_assault", 0.65),
     ["guide:after_assault", "guide:help_someone"]),
    # The matcher also sees the manager's own guide: the intent and the matcher agree.
    ("manager_handling_complaint",
     _entry("guide:report_workplace", 0.62, ["guide:manager_complaint", 0.23]),
     ["guide:manager_complaint", None]),
    ("manager_handling_complaint",
     _entry("guide:time_limits", 0.73, ["guide:manager_complaint", 0.03]),
     ["guide:time_limits", "guide:manager_complaint"]),
    # Rows that never yield to an entry keep their answer.
    ("greet", _entry("guide:shelter", 0.9), ["message:greeting", None]),
    # No confident entry: the row's answer.
    ("report_domestic_violence", {"ref": None, "confidence": 0.3, "ranking": []},
     ["guide:domestic_violence", None]),
])
def test_the_entry_that_answers(intent, entry, shown):
    assert _choose(intent, entry) == shown
