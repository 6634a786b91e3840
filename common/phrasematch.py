"""Word-aware, diacritic-aware phrase matching for the crisis safety net.

Folding everything to bare letters made "bí danh" (a pen name) look like "bị đánh"
(being beaten), "tự làm hai cái bánh" (baking two cakes) like "tự làm hại" (self-harm)
and "bấm theo" (press as shown) like "bám theo" (stalking). Matching here works on
whole words and reads the diacritics the way the writer used them:

* A message typed with diacritics (most of its words carry marks) is read as
  written: a word matches a phrase word only if it is that word, so "hai" (two) is
  not "hại" (harm). Such a match is *certain*.
* A message typed without diacritics cannot tell "danh" from "đánh" or "dành": a
  bare word matches any phrase word with its letters, and the match is *uncertain*.
  The bot's core lets the language model overrule an uncertain match only when the
  model is confident the message is something harmless (bot/core.py); with the
  model down, slow or unsure, the emergency reply goes out.
* An ``exact`` phrase never matches bare letters ("tự vẫn" is "tu van", as in "tư
  vấn"); a ``confirm`` phrase is always uncertain, for idioms people also use
  lightly ("cứu em với" about a jammed printer); an ``unmistakable`` phrase is
  certain from bare letters too, because its letters read only one way ("dinh tu
  sat" is only "định tự sát"): the model, however sure, cannot overrule it.
* A phrase's harmless look-alikes ("treo cờ tổ quốc" for "treo cổ"), and the global
  harmless list ("đánh giá"), cancel a match they overlap: "bị đánh giá thấp"
  (rated poorly) is not "bị đánh" (beaten). A look-alike read from bare letters is
  as uncertain as the match, so it leaves the match uncertain rather than
  cancelling it ("bo dang danh thang be" is not "đánh thắng", winning), even when
  it holds the whole match: "bo no danh con co chay mau khong" has the letters of
  "đánh con cờ" (a chess move) and means "does the child bleed".
* A phrase right after a word that names an act rather than tells of one ("tội hiếp
  dâm", the crime of rape; "hành vi đánh đập", the act of beating) is uncertain: a
  question about the law or a training course names the act; someone telling of it
  still gets the emergency reply unless the model is confident the message is harmless.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from common.textnorm import clean, expand_abbreviations, strip_accents

_WORD = re.compile(r"\w+", re.UNICODE)
# A phrase never spans a clause break: "ván sau anh đánh, em ngồi xem" has no "đánh em".
_CLAUSE_BREAK = re.compile(r"[,.;:!?…()\[\]\n]+")
# At least this share of the typed words carries diacritics: the writer uses them,
# so a bare word is meant bare. Vietnamese prose has marks on most words; teencode
# and unaccented typing have few or none.
ACCENTED_SHARE = 0.4


def words_of(text: str, lexicon: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The words of a message as typed: lowercased, abbreviations expanded."""
    return tuple(_WORD.findall(expand_abbreviations(clean(text).lower(), lexicon or {})))


def clauses_of(text: str, lexicon: Mapping[str, str] | None = None) -> list[tuple[str, ...]]:
    """The words of each clause of a message."""
    parts = (words_of(part, lexicon) for part in _CLAUSE_BREAK.split(clean(text)))
    return [words for words in parts if words]


def typed_with_diacritics(text: str, lexicon: Mapping[str, str] | None = None) -> bool:
    """Whether the writer used diacritics, judged on the words as typed; numbers and
    abbreviations ("e", "bj") say nothing either way."""
    words = [w for w in _WORD.findall(clean(text).lower())
             if not w.isdigit() and w not in (lexicon or {})]
    marked = sum(strip_accents(w) != w for w in words)
    return bool(words) and marked / len(words) >= ACCENTED_SHARE


def word_matches(typed: str, written: str, accented: bool) -> bool | None:
    """True: the typed word is the phrase word; None: it may be (bare letters in an
    unaccented message); False: it is not."""
    bare = strip_accents(typed) == typed
    if typed == written:
        # In a message typed without diacritics a bare word may be any word with its
        # letters, even when the phrase word has none: "vung dao" is also "vùng đảo".
        return None if bare and not accented else True
    if not accented and bare and typed == strip_accents(written):
        return None
    return False


@dataclass(frozen=True)
class Phrase:
    """A crisis phrase as the editor wrote it, with diacritics."""

    words: tuple[str, ...]
    exact: bool = False  # must be typed with its diacritics
    confirm: bool = False  # also used lightly: the model may overrule it
    harmless: tuple[tuple[str, ...], ...] = ()  # look-alikes that cancel this phrase
    unmistakable: bool = False  # its bare letters read one way: certain without marks

    @classmethod
    def of(cls, text: str, exact: bool = False, harmless: Iterable[str] = (),
           confirm: bool = False, unmistakable: bool = False) -> Phrase:
        return cls(words_of(text), exact, confirm,
                   tuple(w for w in map(words_of, harmless) if w), unmistakable)

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class Hit:
    kind: str
    phrase: Phrase
    certain: bool  # typed as written, and not a phrase that asks for confirmation


def _spans(words: tuple[str, ...], typed: tuple[str, ...], accented: bool,
           exact: bool = False, unmistakable: bool = False) -> list[tuple[int, int, bool]]:
    """Every (start, end, certain) where the phrase ``words`` occurs in the typed words."""
    n, found = len(words), []
    for i in range(len(typed) - n + 1):
        results = [word_matches(typed[i + k], words[k], accented) for k in range(n)]
        if all(r is not False for r in results) and not (exact and None in results):
            found.append((i, i + n, unmistakable or None not in results))
    return found


def _overlapping(span: tuple[int, int, bool], look_alikes: list[tuple[int, int, bool]]
                 ) -> list[bool]:
    """How certain each look-alike sharing a word with the match is ("bị đánh giá")."""
    return [certain for start, end, certain in look_alikes if start < span[1] and span[0] < end]


def _weighed(span: tuple[int, int, bool], look_alikes: list[tuple[int, int, bool]]
             ) -> tuple[int, int, bool] | None:
    """A look-alike typed as written cancels the match; one read from bare letters only
    makes it uncertain ("bi danh gia" may be "bị đánh giá" or "bị đánh, giá…")."""
    overlapping = _overlapping(span, look_alikes)
    if any(overlapping):
        return None
    return (span[0], span[1], span[2] and not overlapping)


def _named(span: tuple[int, int, bool], named_from: set[int]) -> tuple[int, int, bool]:
    """A match that begins right after a naming word is named, not told: uncertain."""
    return (span[0], span[1], span[2] and span[0] not in named_from)


@dataclass(frozen=True)
class PhraseMatcher:
    """Crisis phrases by kind plus the global harmless list, matched on typed words."""

    triggers: Mapping[str, tuple[Phrase, ...]]
    harmless: tuple[tuple[str, ...], ...] = ()
    naming: tuple[tuple[str, ...], ...] = ()  # words that name an act: "tội", "hành vi"
    _index: dict = field(default_factory=dict, compare=False, repr=False)

    def _by_first_word(self) -> dict[str, list[tuple[str, Phrase]]]:
        # Built on first use; candidates are found by the bare first word.
        if not self._index:
            for kind, phrases in self.triggers.items():
                for phrase in phrases:
                    if phrase.words:
                        key = strip_accents(phrase.words[0])
                        self._index.setdefault(key, []).append((kind, phrase))
        return self._index

    def hits(self, text: str, lexicon: Mapping[str, str] | None = None) -> list[Hit]:
        """Every phrase that occurs in the message and is not cancelled."""
        accented = typed_with_diacritics(text, lexicon)
        found: dict[int, Hit] = {}
        for typed in clauses_of(text, lexicon):
            for hit in self._clause_hits(typed, accented):
                if hit.certain or id(hit.phrase) not in found:
                    found[id(hit.phrase)] = hit
        return list(found.values())

    def _clause_hits(self, typed: tuple[str, ...], accented: bool) -> list[Hit]:
        index = self._by_first_word()
        candidates = {id(p): (k, p) for w in set(map(strip_accents, typed))
                      for k, p in index.get(w, ())}
        if not candidates:
            return []
        global_covers = [s for words in self.harmless for s in _spans(words, typed, accented)]
        # Only a naming word typed as written names: bare "chong" may be "chồng" (husband).
        named_from = {end for words in self.naming
                      for _, end, certain in _spans(words, typed, accented) if certain}
        found = []
        for kind, phrase in candidates.values():
            covers = global_covers + [s for words in phrase.harmless
                                      for s in _spans(words, typed, accented)]
            weighed = (_weighed(s, covers) for s in _spans(
                phrase.words, typed, accented, phrase.exact, phrase.unmistakable))
            spans = [_named(s, named_from) for s in weighed if s is not None]
            if spans:
                certain = any(s[2] for s in spans) and not phrase.confirm
                found.append(Hit(kind, phrase, certain))
        return found

    def kinds(self, text: str, lexicon: Mapping[str, str] | None = None) -> set[str]:
        """The crisis kinds a message signals, certain or not."""
        return {hit.kind for hit in self.hits(text, lexicon)}
