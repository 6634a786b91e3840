"""Which content entry answers a question: learnt from the editors' example questions.

Every shown entry in content/ may list example questions ("quấy rối ở cơ quan bị
phạt bao nhiêu"). A question one entry answers should get that entry, not a menu.
The training set is those questions, one class per entry, plus a "none" class: the
NLU examples of intents that never ask for such an entry (greetings, reports,
"giờ em phải làm gì"…), so that text unlike any entry's questions stays unmatched.

Two methods, compared by bench/entry_matcher.py (docs/nlu.md):
* ``logreg``: TF-IDF word and character n-grams, logistic regression, like the
  intent classifier; the top entry's probability is its confidence;
* ``nearest``: cosine similarity to the closest example question.
Pure scikit-learn: used by the Rasa component and by the benchmark alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline, make_union

from common.content import load_content
from common.textnorm import nlu_form

NONE = "none"
RANKED = 3  # entries in the ranking the parse reports (the best one included)


@dataclass(frozen=True)
class Match:
    ref: str | None  # None when no entry is confident enough
    confidence: float
    ranking: tuple[tuple[str, float], ...] = ()  # the best entries, whatever their score


def entry_examples(content_dir: Path, lexicon: Mapping[str, str]) -> list[tuple[str, str]]:
    """(ref, text in the pipeline's normalised form) for every entry's example questions."""
    content = load_content(content_dir)
    return [(ref, nlu_form(q, lexicon)) for ref, q in content.example_questions()]


def entry_intents(content_dir: Path) -> set[str]:
    """Intents whose examples may ask for an entry: never learnt as "none"."""
    return load_content(content_dir).entry_intents()


def features() -> object:
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    return make_union(words, chars)


class EntryModel:
    """Fit on (label, text) pairs where label is an entry ref or NONE; then match."""

    def __init__(self, method: str = "logreg", threshold: float = 0.5, C: float = 30.0):
        if method not in ("logreg", "nearest"):
            raise ValueError(f"unknown entry matching method {method!r}")
        self.method, self.threshold, self.C = method, threshold, C
        self.pipeline: Pipeline | None = None
        self.labels: np.ndarray | None = None
        self.examples = None  # nearest: the example vectors

    def fit(self, pairs: Iterable[tuple[str, str]]) -> EntryModel:
        labels, texts = zip(*pairs, strict=True)
        if self.method == "logreg":
            classifier = LogisticRegression(C=self.C, max_iter=3000, class_weight="balanced",
                                            random_state=42)
            self.pipeline = make_pipeline(features(), classifier).fit(texts, labels)
        else:
            self.pipeline = make_pipeline(features()).fit(texts)
            self.examples = self.pipeline.transform(texts)
            self.labels = np.array(labels)
        return self

    def scores(self, texts: list[str]) -> list[tuple[str, float]]:
        """(best label, its score) per text, before the threshold."""
        if self.pipeline is None:
            return [(NONE, 0.0)] * len(texts)
        if self.method == "logreg":
            return [best for best, _ in self._logreg(texts)]
        similarity = (self.pipeline.transform(texts) @ self.examples.T).toarray()
        # The union concatenates two L2-normalised blocks: halve to get a cosine in [0, 1].
        return [(str(self.labels[row.argmax()]), float(row.max()) / 2) for row in similarity]

    def match(self, texts: list[str]) -> list[Match]:
        if self.pipeline is not None and self.method == "logreg":
            scored = self._logreg(texts)  # one pass gives both the best and the ranking
        else:
            scored = [(best, ()) for best in self.scores(texts)]
        return [Match(label if label != NONE and score >= self.threshold else None, score,
                      ranking)
                for (label, score), ranking in scored]

    def _logreg(self, texts: list[str]) -> list[tuple[tuple[str, float], tuple]]:
        """Per text: (best label, its probability) and the RANKED best entries ("none"
        left out)."""
        classes = self.pipeline.classes_
        out = []
        for row in self.pipeline.predict_proba(texts):
            order = row.argsort()[::-1]
            ranking = tuple((str(classes[i]), round(float(row[i]), 3))
                            for i in order if classes[i] != NONE)[:RANKED]
            out.append(((str(classes[order[0]]), float(row[order[0]])), ranking))
        return out
