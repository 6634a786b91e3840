"""Checking the abbreviation lexicon (nlu/lexicon/abbreviations.yml) as an editor changes it.

A short form replaces a whole typed word before the model and the crisis net read the
message, so a wrong line changes what people are understood to say. The rules here are the
file's own header, enforced: one word per short form, lowercase, a non-empty full form, no
short form that is an ordinary word with another meaning (the known ones below).
"""

from __future__ import annotations

import re

import yaml

from common.content.model import Problem
from common.textnorm import clean

FILE = "abbreviations.yml"
# Ordinary words that look like abbreviations: replacing them changes the sentence.
ORDINARY_WORDS = frozenset({"hông", "xếp", "cmt"})
_WORD = re.compile(r"^[^\s]+$")


def lexicon_problems(text: str) -> list[Problem]:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unreadable"
        return [Problem(FILE, "-", "-", f"not valid YAML: {where}")]
    entries = raw.get("abbreviations") if isinstance(raw, dict) else None
    if not isinstance(entries, dict):
        return [Problem(FILE, "-", "abbreviations", "must be a mapping")]
    problems = []
    for short, full in entries.items():
        key = clean(str(short))
        if not _WORD.match(key) or key != key.lower():
            problems.append(Problem(FILE, str(short), "short", "one lowercase word"))
        if key in ORDINARY_WORDS:
            problems.append(Problem(FILE, str(short), "short", "an ordinary word"))
        if not isinstance(full, str) or not full.strip():
            problems.append(Problem(FILE, str(short), "full", "required text is missing or empty"))
    return problems
