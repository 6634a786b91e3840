"""Choose when the emergency reply goes out: the safety net weighed with the model.

Runs in Rasa's environment: `.venv-rasa/bin/python bench/crisis_thresholds.py [sets…]`.
Every sentence of the held-out set and of the given precision sets
(default: tests/nlu_eval/precision*.yml) is parsed once by the trained model; the
decision of bot/core.py is then replayed for a grid of its three thresholds:

* CRISIS_RANKING_MIN: a crisis intent at least this likely brings the reply;
* CALM_CONFIDENCE, CRISIS_HINT_MAX: an uncertain net match is overruled only by a
  harmless reading at least this confident with crisis intents below the hint.

Printed per setting: harmless sentences that get the reply and crisis sentences
that miss it, per set. Output is Markdown, for docs/nlu.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import sys
from itertools import product
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.content import load_content  # noqa: E402
from common.intents import CRISIS_INTENTS, NEVER_CALM_INTENTS  # noqa: E402
from common.textnorm import load_lexicon  # noqa: E402

RANKING_MIN = (0.2, 0.3, 0.4, 0.5)
CALM = (0.4, 0.5, 0.6)
HINT = (0.1, 0.2, 0.3)


def load_sets(paths: list[Path]) -> dict[str, tuple[list[str], list[str]]]:
    """name -> (harmless texts, crisis texts)."""
    heldout = yaml.safe_load((ROOT / "tests/nlu_eval/heldout.yml").read_text())["examples"]
    harmless = ("greet", "thank", "ask_menu", "start_quiz", "out_of_scope")
    sets = {"heldout": ([e["text"] for e in heldout if e["intent"] in harmless],
                        [e["text"] for e in heldout if e["intent"] in CRISIS_INTENTS])}
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        sets[path.stem] = ([e["text"] for e in data["harmless"]],
                           [e["text"] for e in data["crisis"]])
    return sets


async def parse_all(texts: set[str]) -> dict[str, tuple[str, float, dict[str, float]]]:
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings

    configure_logging_and_warnings(logging.WARNING)

    agent = Agent.load(str(ROOT / "nlu/models/antam.tar.gz"))
    parsed = {}
    for text in sorted(texts):
        result = await agent.parse_message(text)
        ranking = {r["name"]: r["confidence"] for r in result.get("intent_ranking", [])}
        parsed[text] = (result["intent"]["name"], result["intent"]["confidence"], ranking)
    return parsed


def emergency(net, parsed, ranking_min: float, calm: float, hint: float) -> bool:
    """bot/core.py's crisis_kind, replayed."""
    intent, confidence, ranking = parsed
    crisis = sum(ranking.get(k, 0.0) for k in CRISIS_INTENTS)
    is_calm = (intent not in NEVER_CALM_INTENTS and confidence >= calm
               and crisis < hint)
    by_net = bool(net) and (any(h.certain for h in net) or not is_calm)
    by_model = intent in CRISIS_INTENTS or any(ranking.get(k, 0.0) >= ranking_min
                                               for k in CRISIS_INTENTS)
    return by_net or by_model


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]] or sorted((ROOT / "tests/nlu_eval").glob(
        "precision*.yml"))
    sets = load_sets(paths)
    texts = {t for harmless, crisis in sets.values() for t in harmless + crisis}
    with contextlib.redirect_stdout(io.StringIO()):  # Rasa's debug lines
        parsed = asyncio.run(parse_all(texts))
    matcher = load_content(ROOT / "content").crisis
    lexicon = load_lexicon(ROOT / "nlu/lexicon/abbreviations.yml")
    nets = {t: matcher.hits(t, lexicon) for t in texts}
    header = " | ".join(f"{name} alarms / missed" for name in sets)
    print(f"| ranking min | calm | hint | {header} |")
    print("|---|---|---|" + "---|" * len(sets))
    for ranking_min, calm, hint in product(RANKING_MIN, CALM, HINT):
        cells = []
        for harmless, crisis in sets.values():
            alarms = sum(emergency(nets[t], parsed[t], ranking_min, calm, hint) for t in harmless)
            missed = sum(not emergency(nets[t], parsed[t], ranking_min, calm, hint)
                         for t in crisis)
            cells.append(f"{alarms}/{len(harmless)} / {missed}/{len(crisis)}")
        print(f"| {ranking_min} | {calm} | {hint} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
