"""Choose how specific questions find their content entry: methods and thresholds.

Runs in Rasa's environment (scikit-learn): `.venv-rasa/bin/python bench/entry_matcher.py`.
Data: the example questions in content/ (one class per entry) and, as "none", the
NLU examples of intents that never take a specific answer (nlu/entries.py).

5-fold cross-validation, stratified by entry: for each method and threshold,
of the held-out example questions, how many get their own entry (right), another
entry (wrong) or none (the menu stays); of the held-out "none" examples, how many
get an entry anyway (false). A wrong entry is worse than none: "none" keeps
today's answer and menu. With --response-selector it also trains Rasa's own
DIET + ResponseSelector (retrieval intents) on fold 1 and scores it the same way.
Output is Markdown, for docs/nlu.md.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.textnorm import load_lexicon  # noqa: E402
from nlu.entries import NONE, EntryModel, entry_examples, entry_intents  # noqa: E402

FOLDS = 5
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
METHODS = (("logreg", 10.0), ("logreg", 30.0), ("nearest", 0.0))


def nlu_negatives(asking: set[str], lexicon) -> list[tuple[str, str]]:
    from common.textnorm import nlu_form

    pairs = []
    for path in sorted((ROOT / "nlu" / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            intent = block.get("intent")
            if not intent or intent in asking:
                continue
            for line in block["examples"].splitlines():
                text = line.strip().removeprefix("- ").strip()
                if text:
                    pairs.append((NONE, nlu_form(text, lexicon)))
    return pairs


def folds(pairs: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Stratified: each label's examples dealt round-robin over the folds."""
    by_label = defaultdict(list)
    for pair in pairs:
        by_label[pair[0]].append(pair)
    out = [[] for _ in range(FOLDS)]
    rng = random.Random(7)
    for label in sorted(by_label):
        items = by_label[label]
        rng.shuffle(items)
        for i, pair in enumerate(items):
            out[i % FOLDS].append(pair)
    return out


def tally(predicted: list[tuple[str, float]], truth: list[str], threshold: float) -> dict:
    counts = defaultdict(int)
    for (label, score), expected in zip(predicted, truth, strict=True):
        chosen = label if label != NONE and score >= threshold else NONE
        if expected == NONE:
            counts["false"] += chosen != NONE
            counts["negatives"] += 1
        else:
            counts["right"] += chosen == expected
            counts["wrong"] += chosen not in (expected, NONE)
            counts["none"] += chosen == NONE
            counts["positives"] += 1
    return counts


def cross_validate(pairs, method: str, C: float) -> tuple[dict, float]:
    parts = folds(pairs)
    scored, truth, seconds = [], [], 0.0
    for k in range(FOLDS):
        train = [p for i, part in enumerate(parts) if i != k for p in part]
        started = time.monotonic()
        model = EntryModel(method, 0.0, C or 30.0).fit(train)
        seconds += time.monotonic() - started
        scored += model.scores([t for _, t in parts[k]])
        truth += [label for label, _ in parts[k]]
    return {t: tally(scored, truth, t) for t in THRESHOLDS}, seconds / FOLDS


def row(name: str, threshold: float, c: dict, seconds: float) -> str:
    p, n = max(c["positives"], 1), max(c["negatives"], 1)
    return (f"| {name} | {threshold} | {c['right'] / p:.3f} | {c['wrong'] / p:.3f} | "
            f"{c['none'] / p:.3f} | {c['false'] / n:.3f} ({c['false']}/{c['negatives']}) | "
            f"{seconds:.1f} s |")


def response_selector(pairs) -> str:
    """Rasa's own means, trained on fold 1's training part, scored on its test part."""
    parts = folds(pairs)
    train = [p for part in parts[1:] for p in part]
    test = parts[0]
    rasa = ROOT / ".venv-rasa" / "bin" / "rasa"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        by_label = defaultdict(list)
        for label, text in train:
            by_label["entry/" + label.replace(":", "__")].append(text)
        nlu = [{"intent": k, "examples": "".join(f"- {t}\n" for t in v)}
               for k, v in by_label.items()]
        (work / "nlu.yml").write_text(yaml.safe_dump({"version": "3.1", "nlu": nlu},
                                                     allow_unicode=True))
        domain = {"version": "3.1", "intents": ["entry"],
                  "responses": {f"utter_{k}": [{"text": k}] for k in by_label}}
        (work / "domain.yml").write_text(yaml.safe_dump(domain, allow_unicode=True))
        config = {"recipe": "default.v1", "language": "vi", "assistant_id": "bench",
                  "pipeline": [
                      {"name": "WhitespaceTokenizer"},
                      {"name": "CountVectorsFeaturizer"},
                      {"name": "CountVectorsFeaturizer", "analyzer": "char_wb",
                       "min_ngram": 2, "max_ngram": 5},
                      {"name": "DIETClassifier", "epochs": 100},
                      {"name": "ResponseSelector", "epochs": 100, "retrieval_intent": "entry"}],
                  "policies": []}
        (work / "config.yml").write_text(yaml.safe_dump(config))
        started = time.monotonic()
        subprocess.run([str(rasa), "train", "nlu", "--config", "config.yml", "--nlu", "nlu.yml",
                        "--domain", "domain.yml", "--out", "models", "--fixed-model-name", "rs"],
                       cwd=work, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.monotonic() - started
        script = (
            "import asyncio, json, sys\n"
            "from rasa.core.agent import Agent\n"
            "async def main():\n"
            "    agent = Agent.load('models/rs.tar.gz')\n"
            "    out = []\n"
            "    for text in json.load(sys.stdin):\n"
            "        r = await agent.parse_message(text)\n"
            "        s = (r.get('response_selector') or {}).get('entry', {})\n"
            "        s = s.get('response')\n"
            "        if s is None: raise SystemExit('no selector output: ' + str(list(r)))\n"
            "        out.append([s['intent_response_key'], s['confidence']])\n"
            "    print(json.dumps(out))\n"
            "asyncio.run(main())\n")
        done = subprocess.run([str(ROOT / ".venv-rasa" / "bin" / "python"), "-c", script],
                              cwd=work, input=json.dumps([t for _, t in test]),
                              capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"ResponseSelector parsing failed:\n{done.stderr[-3000:]}")
        predicted = [(label.removeprefix("entry/").replace("__", ":"), score)
                     for label, score in json.loads(done.stdout.splitlines()[-1])]
    truth = [label for label, _ in test]
    return "\n".join(row("DIET + ResponseSelector (fold 1)", t, tally(predicted, truth, t), seconds)
                     for t in THRESHOLDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--response-selector", action="store_true")
    args = parser.parse_args()
    lexicon = load_lexicon(ROOT / "nlu" / "lexicon" / "abbreviations.yml")
    positives = entry_examples(ROOT / "content", lexicon)
    negatives = nlu_negatives(entry_intents(ROOT / "content"), lexicon)
    pairs = positives + negatives
    print(f"{len(positives)} example questions for {len({r for r, _ in positives})} entries, "
          f"{len(negatives)} 'none' examples; {FOLDS}-fold cross-validation\n")
    print("| method | threshold | right entry | wrong entry | no entry | none matched | fit |")
    print("|---|---|---|---|---|---|---|")
    for method, C in METHODS:
        name = f"{method} C={C:g}" if method == "logreg" else method
        results, seconds = cross_validate(pairs, method, C)
        for threshold, counts in results.items():
            print(row(name, threshold, counts, seconds))
    if args.response_selector:
        print(response_selector(pairs))


if __name__ == "__main__":
    main()
