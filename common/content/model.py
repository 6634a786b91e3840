"""The content entries as immutable values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


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

    def line(self) -> str:
        return f"• {self.number} – {self.name} ({self.hours}, {self.cost})"


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


@dataclass(frozen=True)
class Guide:
    id: str
    label: str
    title: str
    short: str
    details: str
    related: tuple[str, ...]
    fact: Fact


@dataclass(frozen=True)
class Explainer:
    id: str
    form: str
    label: str
    title: str
    short: str
    examples: tuple[str, ...]
    fact: Fact


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


@dataclass(frozen=True)
class Message:
    id: str
    text: str
    contact_ids: tuple[str, ...] = ()
    menu: str | None = None
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class CannedReply:
    """A reply counselors can insert and edit before sending."""

    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Content:
    contacts: dict[str, Contact]
    messages: dict[str, Message]
    menus: dict[str, tuple[Button, ...]]
    crisis_triggers: dict[str, tuple[str, ...]]  # kind -> folded phrases
    crisis_harmless: tuple[str, ...] = ()  # folded phrases removed before matching
    legal: dict[str, LegalFact] = field(default_factory=dict)
    guides: dict[str, Guide] = field(default_factory=dict)
    explainers: dict[str, Explainer] = field(default_factory=dict)
    quiz: dict[str, QuizQuestion] = field(default_factory=dict)
    selfcheck: tuple[SelfCheckQuestion, ...] = ()
    answers: dict[str, str] = field(default_factory=dict)  # intent -> reference
    canned: dict[str, CannedReply] = field(default_factory=dict)

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
