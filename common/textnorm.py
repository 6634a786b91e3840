"""Vietnamese text normalisation shared by the safety check and the NLU pipeline.

Employees type with and without diacritics and in teencode ("ko", "dc", "ck").
Everything that compares text compares its *folded* form: NFC, lowercase,
đ→d, diacritics stripped, teencode expanded, white space collapsed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import yaml

_WORD = re.compile(r"\w+", re.UNICODE)
_SPACES = re.compile(r"\s+")
# C0/C1 control characters except tab and newline, plus zero-width and bidi
# formatting characters that can hide text or break terminals.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean(text: str) -> str:
    """Make raw channel input safe to process: NFC, no control characters."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def strip_accents(text: str) -> str:
    """Remove Vietnamese diacritics, including đ/Đ which Unicode does not decompose."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", bare)


def expand_abbreviations(text: str, lexicon: Mapping[str, str]) -> str:
    """Replace whole words found in the lexicon (keys are folded, lowercase)."""
    if not lexicon:
        return text
    return _WORD.sub(lambda m: lexicon.get(m.group(0), m.group(0)), text)


def fold(text: str, lexicon: Mapping[str, str] | None = None) -> str:
    """The comparison form: lowercase, abbreviations expanded, accentless.

    Abbreviations are matched as typed, before accents are stripped, so the
    particles "à" and "ạ" are not mistaken for "a" (anh).
    """
    lowered = clean(text).lower()
    return strip_accents(expand_abbreviations(lowered, lexicon or {}))


def load_lexicon(path: Path) -> dict[str, str]:
    """Read an abbreviation file: a mapping from short form (as typed) to full form."""
    return parse_lexicon(path.read_text(encoding="utf-8"), path.name)


def parse_lexicon(text: str, name: str = "abbreviations.yml") -> dict[str, str]:
    """An abbreviation file's text (raises ValueError or yaml.YAMLError when malformed)."""
    raw = yaml.safe_load(text) or {}
    entries = raw.get("abbreviations", {}) if isinstance(raw, dict) else {}
    if not isinstance(entries, dict):
        raise ValueError(f"{name}: 'abbreviations' must be a mapping")
    return {clean(str(k)).lower(): clean(str(v)).lower() for k, v in entries.items()}


def nlu_form(text: str, lexicon: Mapping[str, str]) -> str:
    """What the NLU pipeline featurizes: the lowercased text and its folded form.

    Payloads such as "/greet" pass through unchanged.
    """
    if text.startswith("/"):
        return text
    original = clean(text).lower()
    folded = fold(text, lexicon)
    return original if folded == original else f"{original} {folded}"
