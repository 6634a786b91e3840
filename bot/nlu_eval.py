"""`antam eval`: measure understanding through the real stack.

Every held-out example (tests/nlu_eval/heldout.yml, never trained on) goes
through `antam chat --jsonl` as its own conversation, exactly as a user's
message would. Printed: accuracy overall and per form, per-intent precision,
recall and F1 with confusions, crisis recall (emergency contacts in the first
reply) and false alarms (emergency replies to harmless intents).
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.config import Settings
from bot.rasa_runtime import rasa_env
from bot.stack import ANTAM
from common.intents import CRISIS_INTENTS

HARMLESS = ("greet", "thank", "ask_menu", "start_quiz", "out_of_scope")
EMERGENCY_NUMBERS = ("113", "115")


@dataclass(frozen=True)
class Outcome:
    text: str
    form: str
    expected: str
    predicted: str
    confidence: float
    emergency_first: bool  # the first reply carries 113 and 115


def load_heldout(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["examples"]


def run_examples(examples: list[dict], env: dict[str, str]) -> list[Outcome]:
    lines = [json.dumps({"text": e["text"], "sender": f"eval-{i}"}, ensure_ascii=False)
             for i, e in enumerate(examples)]
    done = subprocess.run([ANTAM, "chat", "--jsonl"], input="\n".join(lines) + "\n",
                          env=env, capture_output=True, text=True, check=True, timeout=1800)
    records = [json.loads(line) for line in done.stdout.splitlines()]
    outcomes = []
    for example, record in zip(examples, records, strict=True):
        first = record["replies"][0]["text"] if record["replies"] else ""
        outcomes.append(Outcome(
            example["text"], example["form"], example["intent"], record["intent"] or "-",
            record["confidence"] or 0.0,
            record["crisis"] and all(n in first for n in EMERGENCY_NUMBERS)))
    return outcomes


def _accuracy(outcomes: list[Outcome]) -> float:
    return sum(o.expected == o.predicted for o in outcomes) / max(len(outcomes), 1)


def report(outcomes: list[Outcome]) -> dict:
    """All figures, as a dictionary (printed by ``format_report``)."""
    forms = sorted({o.form for o in outcomes})
    per_intent = {}
    for intent in sorted({o.expected for o in outcomes}):
        tp = sum(o.expected == intent == o.predicted for o in outcomes)
        predicted = sum(o.predicted == intent for o in outcomes)
        actual = sum(o.expected == intent for o in outcomes)
        precision, recall = tp / max(predicted, 1), tp / max(actual, 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        confused = Counter(o.predicted for o in outcomes
                           if o.expected == intent and o.predicted != intent)
        per_intent[intent] = {"precision": precision, "recall": recall, "f1": f1,
                              "support": actual, "confused_with": dict(confused.most_common(3))}
    crisis = [o for o in outcomes if o.expected in CRISIS_INTENTS]
    harmless = [o for o in outcomes if o.expected in HARMLESS]
    return {
        "examples": len(outcomes),
        "accuracy": _accuracy(outcomes),
        "accuracy_per_form": {f: _accuracy([o for o in outcomes if o.form == f]) for f in forms},
        "per_intent": per_intent,
        "crisis_recall": sum(o.emergency_first for o in crisis) / max(len(crisis), 1),
        "crisis_missed": [o.text for o in crisis if not o.emergency_first],
        "false_alarms": [o.text for o in harmless if o.emergency_first],
        "errors": [(o.text, o.expected, o.predicted, round(o.confidence, 2))
                   for o in outcomes if o.expected != o.predicted],
    }


def format_report(figures: dict) -> str:
    lines = [f"held-out examples: {figures['examples']}",
             f"intent accuracy:   {figures['accuracy']:.3f}"]
    lines += [f"  form {form:<6} {acc:.3f}" for form, acc in figures["accuracy_per_form"].items()]
    lines += [f"crisis recall:     {figures['crisis_recall']:.3f}"
              f"  (missed: {figures['crisis_missed']})",
              f"false alarms:      {len(figures['false_alarms'])}  {figures['false_alarms']}",
              "", f"{'intent':<30}{'P':>6}{'R':>6}{'F1':>6}{'n':>5}  confused with"]
    for intent, row in figures["per_intent"].items():
        lines.append(f"{intent:<30}{row['precision']:6.2f}{row['recall']:6.2f}{row['f1']:6.2f}"
                     f"{row['support']:5d}  {row['confused_with'] or ''}")
    lines += ["", "errors (text, expected, predicted, confidence):"]
    lines += [f"  {e}" for e in figures["errors"]]
    return "\n".join(lines)


def cross_validate(settings: Settings, folds: int = 5) -> str:
    """Rasa's own k-fold cross-validation on the training data; returns its summary."""
    root = settings.root
    done = subprocess.run(
        [str(settings.rasa_venv / "bin" / "rasa"), "test", "nlu", "--cross-validation",
         "-f", str(folds), "--config", str(root / "nlu" / "config.yml"),
         "--nlu", str(root / "nlu" / "data"), "--out", str(settings.var_dir / "eval-cv")],
        cwd=root, env=rasa_env(settings), capture_output=True, text=True)
    summary = [line for line in done.stdout.splitlines() + done.stderr.splitlines()
               if "Intent evaluation results" in line or "accuracy" in line.lower()
               or "f1-score" in line.lower() or "precision" in line.lower()]
    return "\n".join(summary[-12:]) or done.stderr[-2000:]
