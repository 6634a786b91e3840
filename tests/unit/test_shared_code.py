"""common/ must behave the same in the app runtime (3.11) and the Rasa runtime (3.10)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import ROOT

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"

PROBE = """
import json, sys
from pathlib import Path
from common.content import load_content, render, render_ref
from common.textnorm import fold, load_lexicon
lexicon = load_lexicon(Path("nlu/lexicon/abbreviations.yml"))
content = load_content(Path("content"))
print(json.dumps({
    "python": "%d.%d" % sys.version_info[:2],
    "folded": [fold(t, lexicon) for t in json.loads(sys.argv[1])],
    "crisis": render(content, "crisis_danger").text,
    "guide": render_ref(content, "guide:safety_plan").text,
    "quiz": sorted(content.quiz),
}))
"""
SAMPLES = ["Tôi bị ĐÁNH", "ck ko cho e ra ngoai", "sđt hỗ trợ", "🙏 救命"]


def _probe(python: str) -> dict:
    done = subprocess.run([python, "-c", PROBE, json.dumps(SAMPLES)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_shared_code_gives_the_same_results_in_both_runtimes():
    app, rasa = _probe(sys.executable), _probe(str(RASA_PYTHON))
    assert (app["python"], rasa["python"]) == ("3.11", "3.10")
    assert app.pop("python") and rasa.pop("python")
    assert app == rasa
    assert app["folded"][1] == "chong khong cho em ra ngoai"
