"""`antam eval`: measure understanding through the real stack.

Three sets in tests/nlu_eval/, written apart from the training data and never
trained on, each sent through `antam chat --jsonl` exactly as users' messages:

* held-out single messages (heldout.yml), each its own conversation: accuracy
  overall and per form, per-intent precision, recall and F1 with confusions,
  crisis recall (emergency contacts in the first reply) and false alarms;
* conversations (conversations.yml): multi-turn cases, each scored on its last
  turn by the content entries the answer showed (`entries` in the JSON lines);
* precision sets (precision*.yml): harmless sentences that share words with
  danger phrases (none may get the emergency reply) and crisis sentences (all must).
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


def chat(turns: list[tuple[str, str]], env: dict[str, str]) -> list[dict]:
    """(sender, text) turns through `antam chat --jsonl`; one JSON record per turn."""
    lines = [json.dumps({"text": text, "sender": sender}, ensure_ascii=False)
             for sender, text in turns]
    done = subprocess.run([ANTAM, "chat", "--jsonl"], input="\n".join(lines) + "\n",
                          env=env, capture_output=True, text=True, check=True, timeout=1800)
    return [json.loads(line) for line in done.stdout.splitlines()]


def emergency_first(record: dict) -> bool:
    """The record is a crisis answer whose first reply carries 113 and 115."""
    first = record["replies"][0]["text"] if record["replies"] else ""
    return record["crisis"] and all(n in first for n in EMERGENCY_NUMBERS)


def run_examples(examples: list[dict], env: dict[str, str]) -> list[Outcome]:
    records = chat([(f"eval-{i}", e["text"]) for i, e in enumerate(examples)], env)
    return [Outcome(example["text"], example["form"], example["intent"],
                    record["intent"] or "-", record["confidence"] or 0.0,
                    emergency_first(record))
            for example, record in zip(examples, records, strict=True)]


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


# ── Conversations: is the last turn answered by the right entry? ─────────────

@dataclass(frozen=True)
class Scored:
    id: str
    kind: str
    form: str
    expected: tuple[str, ...]
    shown: tuple[str, ...]  # entries the last answer showed
    intent: str

    @property
    def right(self) -> bool:
        return bool(set(self.expected) & set(self.shown))


def load_cases(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]


def run_conversations(cases: list[dict], env: dict[str, str]) -> list[Scored]:
    turns = [(f"conv-{case['id']}", text) for case in cases for text in case["turns"]]
    records = iter(chat(turns, env))
    scored = []
    for case in cases:
        last = [next(records) for _ in case["turns"]][-1]
        scored.append(Scored(case["id"], case["kind"], case["form"], tuple(case["expect"]),
                             tuple(last.get("entries") or ()), last["intent"] or "-"))
    return scored


def _share(items: list, key=lambda x: x) -> float:
    return sum(map(key, items)) / max(len(items), 1)


def conversation_report(scored: list[Scored]) -> dict:
    right = lambda s: s.right  # noqa: E731
    return {
        "cases": len(scored),
        "right_entry": _share(scored, right),
        "per_kind": {k: _share([s for s in scored if s.kind == k], right)
                     for k in sorted({s.kind for s in scored})},
        "per_form": {f: _share([s for s in scored if s.form == f], right)
                     for f in sorted({s.form for s in scored})},
        "wrong": [(s.id, list(s.expected), list(s.shown), s.intent)
                  for s in scored if not s.right],
    }


def format_conversations(figures: dict) -> str:
    lines = [f"conversation cases: {figures['cases']}",
             f"right entry on the last turn: {figures['right_entry']:.3f}"]
    lines += [f"  kind {k:<13} {v:.3f}" for k, v in figures["per_kind"].items()]
    lines += [f"  form {f:<13} {v:.3f}" for f, v in figures["per_form"].items()]
    lines += ["wrong (case, expected, shown, intent):"]
    lines += [f"  {w}" for w in figures["wrong"]]
    return "\n".join(lines)


# ── Precision: harmless look-alikes stay calm, crisis sentences never missed ──

def load_precision(path: Path) -> dict[str, list[dict]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {"harmless": data["harmless"], "crisis": data["crisis"]}


def run_precision(sets: dict[str, list[dict]], env: dict[str, str]) -> dict:
    items = [("harmless", e) for e in sets["harmless"]] + [("crisis", e) for e in sets["crisis"]]
    records = chat([(f"precision-{i}", e["text"]) for i, (_, e) in enumerate(items)], env)
    alarms, missed, by_form = [], [], {}
    for (group, example), record in zip(items, records, strict=True):
        if group == "harmless" and record["crisis"]:
            alarms.append(example["text"])
        if group == "crisis":
            hit = emergency_first(record)
            by_form.setdefault(example["form"], []).append(hit)
            if not hit:
                missed.append(example["text"])
    crisis = len(sets["crisis"])
    return {
        "harmless": len(sets["harmless"]), "false_alarms": alarms,
        "crisis": crisis, "crisis_recall": (crisis - len(missed)) / max(crisis, 1),
        "recall_per_form": {f: _share(hits) for f, hits in sorted(by_form.items())},
        "missed": missed,
    }


def format_precision(name: str, figures: dict) -> str:
    lines = [f"{name}: {figures['harmless']} harmless, {figures['crisis']} crisis sentences",
             f"  emergency replies on harmless sentences: {len(figures['false_alarms'])}"]
    lines += [f"    {t}" for t in figures["false_alarms"]]
    lines += [f"  crisis recall: {figures['crisis_recall']:.3f}"]
    lines += [f"    form {f:<6} {v:.3f}" for f, v in figures["recall_per_form"].items()]
    lines += [f"    missed: {t}" for t in figures["missed"]]
    return "\n".join(lines)
