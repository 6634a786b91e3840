"""Phone numbers in what users read: only verified contacts, free lines first, cost said.

A number typed into an answer's text bypasses contacts.yml, so the content check reads
every user-facing text for numbers and holds each one to the same rules as a contact
list: the number is a verified contact's, a paid number has its cost on the same line,
and the free 24/7 support line comes before any paid number in the same text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from common.content.model import Contact, Content, Problem
from common.content.render import render

# 3-digit public lines, 1800/1900 lines, fixed and mobile numbers, spaced or not.
_NUMBER = re.compile(r"(?<![\d/.,])(11[1-5]|1[89]00(?:[ .]?\d){4,6}|0\d(?:[ .]?\d){8,9})(?![\d/])")
PAID_MARK = "cước"  # every paid contact's cost says "… cước …"


def digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def free_support_lines(content: Content) -> set[str]:
    """Digits of the free, round-the-clock support lines that are not emergency services."""
    return {digits(c.number) for c in content.contacts.values() if c.free_support_line}


def user_texts(content: Content) -> Iterator[tuple[str, str, str, str]]:
    """(file, entry, field, text) for every text a user or counselor may be shown."""
    for key, message in content.messages.items():
        known = all(cid in content.contacts for cid in message.contact_ids)
        yield "messages.yml", key, "text", render(content, key).text if known else message.text
    for key, guide in content.guides.items():
        yield "guides.yml", key, "short", guide.short
        yield "guides.yml", key, "details", guide.details
    for key, fact in content.legal.items():
        yield "legal.yml", key, "short", fact.short
        yield "legal.yml", key, "details", fact.details
    for key, explainer in content.explainers.items():
        yield "explainers.yml", key, "short", explainer.short
    for key, question in content.quiz.items():
        yield "quiz.yml", key, "explanation", question.explanation
    for key, reply in content.canned.items():
        yield "canned.yml", key, "text", reply.text


def number_problems(content: Content) -> list[Problem]:
    by_digits = {digits(c.number): c for c in content.contacts.values()}
    free_first = free_support_lines(content)
    problems = []
    for file, entry, fld, text in user_texts(content):
        problems += _text_problems(file, entry, fld, text, by_digits, free_first)
    return _one_per_number(problems)


def _one_per_number(problems: list[Problem]) -> list[Problem]:
    """A number gone from contacts.yml (or marked unverified) is one problem, named where
    it is first shown, not one per text that shows it: one edit, one message."""
    first: dict[str, int] = {}
    count: dict[str, int] = {}
    kept: list[Problem] = []
    for problem in problems:
        if not problem.message.endswith(_PER_NUMBER):
            kept.append(problem)
            continue
        count[problem.message] = count.get(problem.message, 0) + 1
        if problem.message not in first:
            first[problem.message] = len(kept)
            kept.append(problem)
    for message, index in first.items():
        if count[message] > 1:
            p = kept[index]
            kept[index] = Problem(p.file, p.entry, p.field,
                                  f"{message} (shown in {count[message]} places)")
    return kept


_PER_NUMBER = ("is not in contacts.yml", "is unverified and may not be shown")


def _text_problems(file: str, entry: str, fld: str, text: str,
                   by_digits: dict[str, Contact], free_first: set[str]) -> list[Problem]:
    problems, first_free, first_paid = [], None, None
    for match in _NUMBER.finditer(text):
        number = digits(match.group(1))
        contact = by_digits.get(number)
        where = f"number {match.group(1)}"
        if contact is None:
            problems.append(Problem(file, entry, fld, f"{where} is not in contacts.yml"))
            continue
        if not contact.fact.verified:
            problems.append(Problem(file, entry, fld,
                                    f"{where} ({contact.id}) is unverified and may not be shown"))
        if number in free_first and first_free is None:
            first_free = match.start()
        if not contact.free:
            first_paid = match.start() if first_paid is None else first_paid
            if PAID_MARK not in _line_at(text, match.start()).lower():
                problems.append(Problem(file, entry, fld,
                                        f"{where} is paid: say so on the same line"))
    if first_paid is not None and (first_free is None or first_free > first_paid):
        problems.append(Problem(file, entry, fld,
                                "a paid number needs the free 24/7 line before it"))
    return problems


def _line_at(text: str, index: int) -> str:
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    return text[start:] if end < 0 else text[start:end]
