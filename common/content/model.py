"""The content entries as immutable values."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from common.phrasematch import PhraseMatcher


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the content, located precisely for an editor."""

    file: str
    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: entry '{self.entry}': field '{self.field}': {self.message}"


class ContentError(Exception):
    def __init__(self, problems: list):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Button:
    title: str
    payload: str  # "/intent", "@kind:id" or "@more:kind:id"


@dataclass(frozen=True)
class Rendered:
    """One message ready for a channel."""

    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Fact:
    """What every fact-bearing entry has: where it comes from and when it was checked."""

    source: str | None
    reviewed: dt.date
    verified: bool


@dataclass(frozen=True)
class Contact:
    id: str
    name: str
    number: str
    hours: str
    cost: str
    serves: str
    region: str
    emergency: bool
    fact: Fact
    needs: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()  # example questions this contact answers
    audience: tuple[str, ...] = ()  # who it serves: women, men, children
    tested: dt.date | None = None  # when someone last called it to check it answers

    def line(self) -> str:
        return f"• {self.number} – {self.name} ({self.hours}, {self.cost})"

    @property
    def free(self) -> bool:
        return self.cost.lower().startswith("miễn phí")

    @property
    def free_support_line(self) -> bool:
        """A free, round-the-clock support line that is not an emergency service."""
        return (self.free and self.hours == "24/7" and not self.emergency
                and self.fact.verified and not {"children", "emergency"} & set(self.needs))


@dataclass(frozen=True)
class LegalFact:
    id: str
    topic: str
    label: str
    question: str
    short: str
    details: str
    law: str
    article: str
    fact: Fact
    questions: tuple[str, ...] = ()  # example questions this entry answers


@dataclass(frozen=True)
class Guide:
    id: str
    label: str
    title: str
    short: str
    details: str
    related: tuple[str, ...]
    fact: Fact
    questions: tuple[str, ...] = ()  # example questions this entry answers


@dataclass(frozen=True)
class Explainer:
    id: str
    form: str
    label: str
    title: str
    short: str
    examples: tuple[str, ...]
    fact: Fact
    questions: tuple[str, ...] = ()  # example questions this entry answers


@dataclass(frozen=True)
class QuizQuestion:
    id: str
    question: str
    options: tuple[str, ...]
    answer: int
    explanation: str
    fact: Fact


@dataclass(frozen=True)
class SelfCheckQuestion:
    id: str
    question: str
    form: str
    danger: bool = False  # a "yes" is a marker of lethal risk: the danger reply at once


@dataclass(frozen=True)
class Message:
    id: str
    text: str
    contact_ids: tuple[str, ...] = ()
    menu: str | None = None
    buttons: tuple[Button, ...] = ()
    # General questions this message answers ("số đường dây nóng là gì" gets the whole
    # list, not the one contact whose questions look most alike).
    questions: tuple[str, ...] = ()


QUIZ_ROUND = 8  # questions a quiz round draws from the verified pool (8 to 10 keep it short)

# What a conversation is about, and who is asking: Rasa slots set by the intents that
# disclose them (nlu/domain.yml), read by the answer to a follow-up question.
TOPICS = ("workplace", "domestic", "sexual", "online", "helping")
ASKERS = ("affected", "bystander", "manager")


@dataclass(frozen=True)
class AnswerRule:
    """One row of answers.yml: what answers an intent, in a topic or for an asker."""

    answer: str  # a reference (guide:evidence) or a special answer (flow:quiz)
    topic: str | None = None
    asker: str | None = None
    specific: bool = False  # a content entry that matches the question confidently wins

    def fits(self, topic: str | None, asker: str | None) -> int:
        """How well the rule fits the conversation (-1: it does not apply)."""
        if (self.topic and self.topic != topic) or (self.asker and self.asker != asker):
            return -1
        return 2 * bool(self.asker) + bool(self.topic)


@dataclass(frozen=True)
class CannedReply:
    """A reply counselors can insert and edit before sending."""

    id: str
    title: str
    text: str


def _asked(entry) -> tuple[str, ...]:
    """An entry's example questions; a legal fact's own question is one of them."""
    own = (entry.question,) if isinstance(entry, LegalFact) else ()
    return own + entry.questions


@dataclass(frozen=True)
class Content:
    contacts: dict[str, Contact]
    messages: dict[str, Message]
    menus: dict[str, tuple[Button, ...]]
    crisis: PhraseMatcher  # the safety net's phrases by kind, with look-alikes
    legal: dict[str, LegalFact] = field(default_factory=dict)
    guides: dict[str, Guide] = field(default_factory=dict)
    explainers: dict[str, Explainer] = field(default_factory=dict)
    quiz: dict[str, QuizQuestion] = field(default_factory=dict)
    selfcheck: tuple[SelfCheckQuestion, ...] = ()
    answers: dict[str, tuple[AnswerRule, ...]] = field(default_factory=dict)  # by intent
    # Intents whose messages are never questions for an entry, even where a row is
    # specific: the entry matcher learns their examples as "no entry" (answers.yml).
    not_questions: frozenset[str] = frozenset()
    canned: dict[str, CannedReply] = field(default_factory=dict)

    def example_questions(self) -> list[tuple[str, str]]:
        """(reference, question) for every shown entry with example questions: what the
        entry matcher in the NLU pipeline learns from."""
        tables = {"legal": self.legal, "guide": self.guides, "explainer": self.explainers,
                  "contact": self.contacts, "message": self.messages}
        pairs = [(f"{kind}:{key}", question) for kind, table in tables.items()
                 for key, entry in table.items() if self.is_shown(f"{kind}:{key}")
                 for question in _asked(entry)]
        return list(dict.fromkeys(pairs))  # a question repeated in `questions` counts once

    def specific_intents(self) -> set[str]:
        """Intents answers.yml lets a specific entry answer."""
        return {i for i, rules in self.answers.items() if any(r.specific for r in rules)}

    def entry_intents(self) -> set[str]:
        """Intents whose messages may be asking for an entry with example questions: the
        specific ones, and those an entry with questions answers. The entry matcher does
        not learn their examples as "no entry"."""
        asked = {ref for ref, _ in self.example_questions()}
        return (self.specific_intents() | {
            i for i, rules in self.answers.items() if any(r.answer in asked for r in rules)}
        ) - self.not_questions

    def matcher_fingerprint(self) -> str:
        """Changes exactly when what the entry matcher learns from changes."""
        inputs = json.dumps([self.example_questions(), sorted(self.entry_intents())],
                            ensure_ascii=False)
        return hashlib.sha256(inputs.encode()).hexdigest()

    def answer_for(self, intent: str | None, topic: str | None = None,
                   asker: str | None = None) -> AnswerRule:
        """The rule that answers ``intent`` best in this conversation: one for the asker,
        else one for the topic, else the intent's own (every intent has one)."""
        rules = [r for r in self.answers.get(intent or "", ()) if r.fits(topic, asker) >= 0]
        if not rules:
            return AnswerRule("message:fallback")
        return max(rules, key=lambda r: r.fits(topic, asker))

    def entry(self, ref: str):
        """The entry a reference such as ``guide:evidence`` names; KeyError if none."""
        kind, _, key = ref.partition(":")
        table = {"message": self.messages, "guide": self.guides, "legal": self.legal,
                 "explainer": self.explainers, "contact": self.contacts}.get(kind)
        if table is None or key not in table:
            raise KeyError(ref)
        return table[key]

    def is_shown(self, ref: str) -> bool:
        """True if the entry exists and may be shown (it is not marked unverified)."""
        try:
            entry = self.entry(ref)
        except KeyError:
            return False
        fact = getattr(entry, "fact", None)
        return fact is None or fact.verified

    def verified_quiz(self) -> tuple[QuizQuestion, ...]:
        return tuple(q for q in self.quiz.values() if q.fact.verified)

    def stale_facts(self, today: dt.date, max_age_days: int = 365) -> list:
        """Entries whose review is older than ``max_age_days``: warnings, not errors."""
        tables = {"contacts.yml": self.contacts, "legal.yml": self.legal,
                  "guides.yml": self.guides, "explainers.yml": self.explainers,
                  "quiz.yml": self.quiz}
        return [
            Problem(file, key, "reviewed", f"last reviewed {entry.fact.reviewed}, over a year ago")
            for file, table in tables.items() for key, entry in table.items()
            if (today - entry.fact.reviewed).days > max_age_days
        ]
