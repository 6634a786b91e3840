"""The greeting mentions the national action month from 15/11 to 15/12.

actions/ runs in the Rasa runtime (rasa-sdk), so the check runs there too.
"""

from __future__ import annotations

import json
import subprocess

from tests.helpers import ROOT

PROBE = """
import datetime as dt, json
from actions.answer import greeting_key
days = ["2026-11-14", "2026-11-15", "2026-11-29", "2026-12-15", "2026-12-16", "2027-06-28"]
print(json.dumps([greeting_key(dt.date.fromisoformat(d)) for d in days]))
"""


def test_campaign_greeting_only_during_the_action_month():
    done = subprocess.run([str(ROOT / ".venv-rasa" / "bin" / "python"), "-c", PROBE],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == ["greeting", "greeting_campaign", "greeting_campaign",
                                       "greeting_campaign", "greeting", "greeting"]
