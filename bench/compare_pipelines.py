"""Compare candidate NLU pipelines on the held-out file; choose the fallback threshold.

For each config in nlu/pipelines/: train on nlu/data (timed), run `rasa test nlu`
on tests/nlu_eval/heldout.yml, and print accuracy overall and per form and
macro F1. For the best pipeline, print what each fallback threshold would do:
how many wrong answers it turns into "please rephrase" and how many right
answers it loses. Output is Markdown, for docs/nlu.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.rasa_runtime import rasa_env  # noqa: E402
from common.textnorm import load_lexicon, nlu_form  # noqa: E402

THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7)


def _heldout_as_rasa(examples: list[dict], path: Path) -> None:
    by_intent: dict[str, list[str]] = {}
    for example in examples:
        by_intent.setdefault(example["intent"], []).append(example["text"])
    nlu = [{"intent": i, "examples": "".join(f"- {t}\n" for t in texts)}
           for i, texts in by_intent.items()]
    path.write_text(yaml.safe_dump({"version": "3.1", "nlu": nlu}, allow_unicode=True))


def _run(args: list[str], settings: Settings) -> float:
    started = time.monotonic()
    subprocess.run(args, cwd=ROOT, env=rasa_env(settings), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def _predictions(out: Path) -> list[dict]:
    rows = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = out / name
        if path.exists():
            rows += json.loads(path.read_text())
    return rows


def evaluate(config: Path, settings: Settings, work: Path, heldout: Path,
             forms: dict[str, str]) -> dict:
    rasa = str(settings.rasa_venv / "bin" / "rasa")
    models, out = work / f"models-{config.stem}", work / f"results-{config.stem}"
    train_s = _run([rasa, "train", "nlu", "--config", str(config), "--nlu", "nlu/data",
                    "--out", str(models), "--fixed-model-name", config.stem], settings)
    _run([rasa, "test", "nlu", "-m", str(models / f"{config.stem}.tar.gz"), "--nlu",
          str(heldout), "--out", str(out), "--successes"], settings)
    rows = _predictions(out)
    report = json.loads((out / "intent_report.json").read_text())
    per_form = {}
    for form in sorted(set(forms.values())):
        subset = [r for r in rows if forms.get(r["text"]) == form]
        per_form[form] = sum(r["intent"] == r["intent_prediction"]["name"]
                             for r in subset) / max(len(subset), 1)
    return {"config": config.stem, "train_s": train_s, "accuracy": report["accuracy"],
            "macro_f1": report["macro avg"]["f1-score"], "per_form": per_form, "rows": rows}


def threshold_table(rows: list[dict]) -> list[str]:
    lines = ["| threshold | accuracy of answered | asked to rephrase | wrong caught | right lost |",
             "|---|---|---|---|---|"]
    for t in THRESHOLDS:
        answered = [r for r in rows if r["intent_prediction"]["confidence"] >= t]
        right = [r for r in answered if r["intent"] == r["intent_prediction"]["name"]]
        low = [r for r in rows if r["intent_prediction"]["confidence"] < t]
        caught = sum(r["intent"] != r["intent_prediction"]["name"] for r in low)
        lost = len(low) - caught
        lines.append(f"| {t:.2f} | {len(right) / max(len(answered), 1):.3f} | {len(low)} "
                     f"| {caught} | {lost} |")
    return lines


def main() -> None:
    settings = Settings.from_env()
    examples = yaml.safe_load((ROOT / "tests/nlu_eval/heldout.yml").read_text())["examples"]
    lexicon = load_lexicon(ROOT / "nlu" / "lexicon" / "abbreviations.yml")
    # `rasa test` reports the text after our normaliser rewrote it: key on both.
    forms = {e["text"]: e["form"] for e in examples}
    forms.update({nlu_form(e["text"], lexicon): e["form"] for e in examples})
    wanted = sys.argv[1:]  # optional: only these pipeline names
    configs = [c for c in sorted((ROOT / "nlu" / "pipelines").glob("*.yml"))
               if not wanted or c.stem in wanted]
    with tempfile.TemporaryDirectory(prefix="antam-compare-") as tmp:
        work = Path(tmp)
        heldout = work / "heldout.yml"
        _heldout_as_rasa(examples, heldout)
        results = [evaluate(c, settings, work, heldout, forms) for c in configs]
    print(f"held-out examples: {len(examples)}\n")
    print("| pipeline | accuracy | full | plain | teen | macro F1 | training |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        f = r["per_form"]
        print(f"| {r['config']} | {r['accuracy']:.3f} | {f.get('full', 0):.3f} | "
              f"{f.get('plain', 0):.3f} | {f.get('teen', 0):.3f} | {r['macro_f1']:.3f} | "
              f"{r['train_s']:.0f} s |")
    best = max(results, key=lambda r: r["accuracy"])
    print(f"\nfallback thresholds for {best['config']}:\n")
    print("\n".join(threshold_table(best["rows"])))


if __name__ == "__main__":
    main()
