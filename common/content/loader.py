"""Read every content file, validate it and cross-check references.

All problems are collected in one pass so an editor sees them all at once,
each naming the file, the entry and the field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from common.content.model import (
    ASKERS,
    TOPICS,
    AnswerRule,
    Button,
    CannedReply,
    Contact,
    Content,
    ContentError,
    Explainer,
    Fact,
    Guide,
    LegalFact,
    Message,
    Problem,
    QuizQuestion,
    SelfCheckQuestion,
)
from common.content.numbers import number_problems
from common.intents import CONTRACT_INTENTS
from common.phrasematch import Phrase, PhraseMatcher, words_of
from common.textnorm import strip_accents

CONTENT_FILES = ("contacts.yml", "messages.yml", "menus.yml", "crisis.yml", "legal.yml",
                 "guides.yml", "explainers.yml", "quiz.yml", "selfcheck.yml", "answers.yml",
                 "canned.yml")
AUDIENCES = ("women", "men", "children")
NEEDS = ("emergency", "domestic_violence", "sexual_violence", "legal", "psychological",
         "children", "shelter", "medical", "workplace")
CANNED_MAX = 1000
QUESTION_MAX = 200
SHORT_MAX, DETAILS_MAX, LABEL_MAX = 600, 1200, 40
FORMS = ("physical", "verbal", "non_verbal", "psychological", "economic", "sexual", "online")
LEGAL_TOPICS = ("workplace", "domestic", "criminal", "fines", "bodies")
# Answers that are not content entries but flows handled by dedicated actions.
SPECIAL_ANSWERS = ("flow:quiz", "flow:selfcheck", "channel:delete_my_data",
                   "channel:quick_exit", "crisis:danger_now", "crisis:self_harm")

_ID = re.compile(r"^[a-z0-9_]+$")
# Vietnamese numbers: 3-digit emergency lines, 1800/1900 lines, fixed/mobile numbers.
_PHONE = re.compile(r"^(11[1-5]|1[89]00( ?\d){4,6}|0\d( ?\d){8,9})$")
_REF = re.compile(r"^(message|guide|legal|explainer):[a-z0-9_]+$")
_LABELLED_REF = re.compile(r"^(guide|legal|explainer):[a-z0-9_]+$")  # can become a button
_PAYLOAD = re.compile(r"^(/[a-z_]+|@(more:)?(message|guide|legal|explainer):[a-z0-9_]+)$")


class _Reader:
    """Typed field access that records a Problem instead of raising."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.references: list[tuple[str, str, str, str]] = []  # file, entry, field, ref
        self.unreadable: list[Problem] = []  # whole files: everything else would cascade

    def fail(self, file: str, entry: str, fld: str, message: str) -> None:
        self.problems.append(Problem(file, entry, fld, message))

    def cannot_read(self, file: str, message: str) -> None:
        self.unreadable.append(Problem(file, "-", "-", message))

    def text(self, file: str, entry: str, data: dict, fld: str,
             max_len: int | None = None, required: bool = True) -> str:
        value = data.get(fld)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.fail(file, entry, fld, "required text is missing or empty")
            return ""
        value = " ".join(value.split()) if max_len == LABEL_MAX else value.strip()
        if max_len is not None and len(value) > max_len:
            self.fail(file, entry, fld, f"{len(value)} characters; at most {max_len}")
        return value

    def texts(self, file: str, entry: str, data: dict, fld: str,
              minimum: int, maximum: int, max_len: int) -> tuple[str, ...]:
        value = data.get(fld)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                  for v in value):
            self.fail(file, entry, fld, "must be a list of texts")
            return ()
        if not minimum <= len(value) <= maximum:
            self.fail(file, entry, fld, f"needs {minimum} to {maximum} items, has {len(value)}")
        for item in value:
            if len(item) > max_len:
                self.fail(file, entry, fld,
                          f"an item has {len(item)} characters; at most {max_len}")
        return tuple(v.strip() for v in value)

    def choice(self, file: str, entry: str, data: dict, fld: str, allowed) -> str:
        value = data.get(fld)
        if not _member(value, allowed):
            self.fail(file, entry, fld, f"must be one of: {', '.join(allowed)}")
        return str(value)

    def codes(self, file: str, entry: str, data: dict, fld: str, allowed: tuple[str, ...],
              required: bool = False) -> tuple[str, ...]:
        value = data.get(fld)
        if value is None and not required:
            return ()
        if not isinstance(value, list) or not value or not all(_member(v, allowed)
                                                               for v in value):
            self.fail(file, entry, fld, f"must be a list of: {', '.join(allowed)}")
            return ()
        return tuple(value)

    def date(self, file: str, entry: str, data: dict, fld: str) -> dt.date:
        value = data.get(fld)
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(file, entry, fld, "must be a date written YYYY-MM-DD")
            return dt.date.min

    def questions(self, file: str, entry: str, data: dict) -> tuple[str, ...]:
        """Optional example questions (with and without diacritics, in teencode)."""
        if data.get("questions") is None:
            return ()
        return self.texts(file, entry, data, "questions", 1, 40, QUESTION_MAX)

    def fact(self, file: str, entry: str, data: dict, source_required: bool = True) -> Fact:
        source = data.get("source")
        has_url = isinstance(source, str) and source.startswith(("https://", "http://"))
        if (source is not None or source_required) and not has_url:
            self.fail(file, entry, "source", "every fact needs a source URL")
        status = data.get("status", "verified")
        if status not in ("verified", "unverified"):
            self.fail(file, entry, "status", "must be 'verified' or 'unverified'")
        return Fact(source if isinstance(source, str) else None,
                    self.date(file, entry, data, "reviewed"), status == "verified")

    def reference(self, file: str, entry: str, fld: str, ref: Any,
                  pattern: re.Pattern = _REF) -> str:
        if not isinstance(ref, str) or not pattern.match(ref):
            self.fail(file, entry, fld, f"'{ref}' is not a reference like guide:evidence")
            return ""
        self.references.append((file, entry, fld, ref))
        return ref

    def buttons(self, file: str, entry: str, raw: Any) -> tuple[Button, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.fail(file, entry, "buttons", "must be a list of {title, payload}")
            return ()
        result = []
        for index, item in enumerate(raw):
            where = f"buttons[{index}]"
            item = item if isinstance(item, dict) else {}
            title = self.text(file, entry, item, "title", LABEL_MAX) if item else ""
            payload = str(item.get("payload", ""))
            if not _PAYLOAD.match(payload):
                self.fail(file, entry, f"{where}.payload",
                          "must be /intent_name, @kind:id or @more:kind:id")
            elif payload.startswith("@"):
                self.references.append((file, entry, f"{where}.payload",
                                        payload.split("@more:")[-1].lstrip("@")))
            result.append(Button(title, payload))
        return tuple(result)


def _member(value: Any, allowed) -> bool:
    """``value in allowed``, false (not a TypeError) for a list or mapping an editor typed."""
    return isinstance(value, Hashable) and value in allowed


def _read_yaml(directory: Path, name: str, reader: _Reader) -> dict[str, Any]:
    try:
        data = yaml.safe_load((directory / name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        reader.cannot_read(name, "file is missing")
        return {}
    except yaml.YAMLError as exc:
        reader.cannot_read(name, f"not valid YAML: {exc}")
        return {}
    if not isinstance(data, dict):
        reader.cannot_read(name, "must be a mapping at the top level")
        return {}
    return data


def _entries(directory: Path, file: str, key: str, reader: _Reader,
             id_field: str = "id") -> list[tuple[str, dict]]:
    items = _read_yaml(directory, file, reader).get(key)
    if not isinstance(items, list):
        reader.fail(file, "-", key, "must be a list of entries")
        return []
    result, seen = [], set()
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get(id_field), str):
            reader.fail(file, f"#{index + 1}", id_field, f"each entry needs an '{id_field}'")
            continue
        key_value = item[id_field]
        if id_field == "id" and not _ID.match(key_value):
            reader.fail(file, key_value, "id", "use lowercase letters, digits and _")
        if key_value in seen:
            reader.fail(file, key_value, id_field, "duplicate id")
        seen.add(key_value)
        result.append((key_value, item))
    return result


def _contacts(d: Path, r: _Reader) -> dict[str, Contact]:
    f = "contacts.yml"
    out = {}
    for cid, item in _entries(d, f, "contacts", r):
        number = r.text(f, cid, item, "number")
        if number and not _PHONE.match(number):
            r.fail(f, cid, "number", f"'{number}' is not a Vietnamese phone number")
        if not isinstance(item.get("emergency", False), bool):
            r.fail(f, cid, "emergency", "must be true or false")
        if item.get("status") not in ("verified", "unverified"):
            r.fail(f, cid, "status", "say 'verified' or 'unverified': a contact must say it")
        out[cid] = Contact(cid, r.text(f, cid, item, "name"), number,
                           r.text(f, cid, item, "hours"), r.text(f, cid, item, "cost"),
                           r.text(f, cid, item, "serves"), r.text(f, cid, item, "region"),
                           item.get("emergency") is True, r.fact(f, cid, item),
                           r.codes(f, cid, item, "needs", NEEDS),
                           r.questions(f, cid, item),
                           r.codes(f, cid, item, "audience", AUDIENCES, required=True),
                           r.date(f, cid, item, "tested") if "tested" in item else None)
    return out


def _canned(d: Path, r: _Reader) -> dict[str, CannedReply]:
    f = "canned.yml"
    return {cid: CannedReply(cid, r.text(f, cid, item, "title", LABEL_MAX),
                             r.text(f, cid, item, "text", CANNED_MAX))
            for cid, item in _entries(d, f, "canned", r)}


def _legal(d: Path, r: _Reader) -> dict[str, LegalFact]:
    f = "legal.yml"
    out = {}
    for lid, item in _entries(d, f, "legal", r):
        citation = item.get("citation") if isinstance(item.get("citation"), dict) else {}
        if not citation or not str(citation.get("article") or "").strip():
            r.fail(f, lid, "citation", "needs law and article")
        out[lid] = LegalFact(
            lid, r.choice(f, lid, item, "topic", LEGAL_TOPICS),
            r.text(f, lid, item, "label", LABEL_MAX), r.text(f, lid, item, "question"),
            r.text(f, lid, item, "short", SHORT_MAX), r.text(f, lid, item, "details", DETAILS_MAX),
            r.text(f, lid, citation, "law") if citation else "",
            str(citation.get("article") or "").strip(), r.fact(f, lid, item),
            r.questions(f, lid, item))
    return out


def _guides(d: Path, r: _Reader) -> dict[str, Guide]:
    f = "guides.yml"
    out = {}
    for gid, item in _entries(d, f, "guides", r):
        related = item.get("related") or []
        if not isinstance(related, list):
            r.fail(f, gid, "related", "must be a list of references")
            related = []
        out[gid] = Guide(
            gid, r.text(f, gid, item, "label", LABEL_MAX), r.text(f, gid, item, "title"),
            r.text(f, gid, item, "short", SHORT_MAX),
            r.text(f, gid, item, "details", DETAILS_MAX, required=False),
            tuple(r.reference(f, gid, "related", ref, _LABELLED_REF) for ref in related),
            r.fact(f, gid, item, source_required=False), r.questions(f, gid, item))
    return out


def _explainers(d: Path, r: _Reader) -> dict[str, Explainer]:
    f = "explainers.yml"
    out = {}
    for eid, item in _entries(d, f, "explainers", r):
        out[eid] = Explainer(
            eid, r.choice(f, eid, item, "form", (*FORMS, "overview")),
            r.text(f, eid, item, "label", LABEL_MAX), r.text(f, eid, item, "title"),
            r.text(f, eid, item, "short", SHORT_MAX),
            r.texts(f, eid, item, "examples", 3, 8, 160), r.fact(f, eid, item),
            r.questions(f, eid, item))
    return out


def _quiz(d: Path, r: _Reader) -> dict[str, QuizQuestion]:
    f = "quiz.yml"
    out = {}
    for qid, item in _entries(d, f, "questions", r):
        options = r.texts(f, qid, item, "options", 2, 4, 60)
        answer = item.get("answer")
        if not isinstance(answer, int) or isinstance(answer, bool) or not (
                0 <= answer < max(len(options), 1)):
            r.fail(f, qid, "answer", "must be the index (from 0) of one of the options")
            answer = 0
        explanation = r.text(f, qid, item, "explanation", 400)
        if options and explanation.lower().startswith(options[answer].lower().rstrip(".")):
            r.fail(f, qid, "explanation", "starts with the answer, which the feedback already says")
        out[qid] = QuizQuestion(qid, r.text(f, qid, item, "question", 300), options, answer,
                                explanation, r.fact(f, qid, item))
    return out


def _selfcheck(d: Path, r: _Reader) -> tuple[SelfCheckQuestion, ...]:
    f = "selfcheck.yml"
    out = []
    for sid, item in _entries(d, f, "questions", r):
        if not isinstance(item.get("danger", False), bool):
            r.fail(f, sid, "danger", "must be true or false")
        out.append(SelfCheckQuestion(sid, r.text(f, sid, item, "question", 300),
                                     r.choice(f, sid, item, "form", FORMS),
                                     item.get("danger") is True))
    return tuple(out)


def _menus(d: Path, r: _Reader) -> dict[str, tuple[Button, ...]]:
    f = "menus.yml"
    out = {}
    for mid, item in _entries(d, f, "menus", r):
        out[mid] = r.buttons(f, mid, item.get("buttons"))
        if not out[mid]:
            r.fail(f, mid, "buttons", "a menu needs at least one button")
    return out


def _messages(d: Path, r: _Reader) -> dict[str, Message]:
    f = "messages.yml"
    out = {}
    for key, item in _entries(d, f, "messages", r):
        ids = item.get("contacts") or []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            r.fail(f, key, "contacts", "must be a list of contact ids")
            ids = []
        menu = item.get("menu")
        if menu is not None and not isinstance(menu, str):
            r.fail(f, key, "menu", "must be the id of a menu")
            menu = None
        out[key] = Message(key, r.text(f, key, item, "text", SHORT_MAX), tuple(ids),
                           menu, r.buttons(f, key, item.get("buttons")),
                           r.questions(f, key, item))
    return out


def _crisis(d: Path, r: _Reader) -> PhraseMatcher:
    f = "crisis.yml"
    triggers = {}
    for kind, item in _entries(d, f, "triggers", r):
        phrases = item.get("phrases")
        if not isinstance(phrases, list) or not phrases:
            r.fail(f, kind, "phrases", "must be a non-empty list of phrases")
            continue
        triggers[kind] = tuple(p for p in (_crisis_phrase(f, kind, raw, r) for raw in phrases)
                               if p is not None)
    document = _read_yaml(d, f, r)
    harmless, naming = (_phrase_list(document, f, key, r) for key in ("harmless", "naming"))
    return PhraseMatcher(triggers, harmless, naming)


def _phrase_list(document: dict, f: str, key: str, r: _Reader) -> tuple[tuple[str, ...], ...]:
    """A top-level list of phrases of crisis.yml, as words."""
    phrases = document.get(key) or []
    if not isinstance(phrases, list):
        r.fail(f, "-", key, "must be a list of phrases")
        return ()
    return tuple(w for w in map(words_of, map(str, phrases)) if w)


def _crisis_phrase(f: str, kind: str, raw: Any, r: _Reader) -> Phrase | None:
    """A phrase is a string, or {phrase, exact, confirm, unmistakable, harmless} when it
    needs its diacritics, needs the model's agreement, is certain from bare letters or has
    look-alikes (common/phrasematch.py); a look-alike must share a word with the phrase to
    cancel it; at most one of the three flags is true."""
    item = raw if isinstance(raw, dict) else {"phrase": raw}
    text, harmless = item.get("phrase"), item.get("harmless", [])
    flags = {name: item.get(name, False) for name in ("exact", "confirm", "unmistakable")}
    where = f"phrase {text!r}"
    if not isinstance(text, str) or not words_of(text):
        r.fail(f, kind, "phrases", f"{where}: must be words")
        return None
    if unknown := set(item) - {"phrase", "harmless", *flags}:
        r.fail(f, kind, where, f"unknown field(s): {', '.join(sorted(unknown))}")
    if not all(isinstance(v, bool) for v in flags.values()):
        r.fail(f, kind, where, "exact, confirm and unmistakable must be true or false")
        return None
    if sum(flags.values()) > 1:
        r.fail(f, kind, where, "exact, confirm and unmistakable exclude each other")
        return None
    if not isinstance(harmless, list) or not all(isinstance(h, str) for h in harmless):
        r.fail(f, kind, where, "harmless must be a list of look-alike phrases")
        return None
    phrase = Phrase.of(text, harmless=harmless, **flags)
    bare = set(map(strip_accents, phrase.words))
    for look_alike in phrase.harmless:
        if not bare & set(map(strip_accents, look_alike)):
            r.fail(f, kind, where, f"look-alike {' '.join(look_alike)!r} shares no word with it")
    return phrase


def _answers(d: Path, r: _Reader) -> dict[str, tuple[AnswerRule, ...]]:
    """Rows of (intent, answer) with an optional topic or asker: the row that fits the
    conversation best answers; every intent needs a row without either."""
    f = "answers.yml"
    items = _read_yaml(d, f, r).get("answers")
    if not isinstance(items, list):
        r.fail(f, "-", "answers", "must be a list of rows")
        return {}
    out: dict[str, list[AnswerRule]] = {}
    for index, item in enumerate(items):
        item = item if isinstance(item, dict) else {}
        intent = str(item.get("intent") or f"#{index + 1}")
        rule = _answer_rule(f, intent, item, r)
        if rule is None:
            continue
        same = [x for x in out.get(intent, []) if (x.topic, x.asker) == (rule.topic, rule.asker)]
        if same:
            r.fail(f, intent, "topic", "two rows answer this intent in the same situation")
        out.setdefault(intent, []).append(rule)
    for intent, rules in out.items():
        if not any(rule.topic is None and rule.asker is None for rule in rules):
            r.fail(f, intent, "answer", "needs a row without topic or asker (the default)")
    for intent in CONTRACT_INTENTS:
        if intent not in out:
            r.fail(f, intent, "answer", "every contract intent needs an answer")
    return {intent: tuple(rules) for intent, rules in out.items()}


def _not_questions(d: Path, r: _Reader) -> frozenset[str]:
    """Intents whose examples the entry matcher learns as "no entry" (answers.yml)."""
    f = "answers.yml"
    items = _read_yaml(d, f, r).get("not_questions", [])
    if not isinstance(items, list):
        r.fail(f, "-", "not_questions", "must be a list of intents")
        return frozenset()
    for intent in items:
        if intent not in CONTRACT_INTENTS:
            r.fail(f, str(intent), "not_questions", "is not an intent of the contract")
    return frozenset(map(str, items))


def _answer_rule(f: str, intent: str, item: dict, r: _Reader) -> AnswerRule | None:
    answer = item.get("answer")
    if answer not in SPECIAL_ANSWERS:
        answer = r.reference(f, intent, "answer", answer)
    topic, asker = item.get("topic"), item.get("asker")
    if topic is not None and topic not in TOPICS:
        r.fail(f, intent, "topic", f"must be one of: {', '.join(TOPICS)}")
        return None
    if asker is not None and asker not in ASKERS:
        r.fail(f, intent, "asker", f"must be one of: {', '.join(ASKERS)}")
        return None
    if not isinstance(item.get("specific", False), bool):
        r.fail(f, intent, "specific", "must be true or false")
    return AnswerRule(answer, topic, asker, item.get("specific") is True)


def _cross_check(content: Content, r: _Reader) -> None:
    for file, entry, fld, ref in r.references:
        if not ref:
            continue
        try:
            content.entry(ref)
        except KeyError:
            r.fail(file, entry, fld, f"'{ref}' does not exist")
            continue
        if not content.is_shown(ref):
            r.fail(file, entry, fld, f"'{ref}' is unverified and may not be shown")
    for key, message in content.messages.items():
        for cid in message.contact_ids:
            if cid not in content.contacts:
                r.fail("messages.yml", key, "contacts", f"unknown contact '{cid}'")
        if message.menu and message.menu not in content.menus:
            r.fail("messages.yml", key, "menu", f"unknown menu '{message.menu}'")
    for required in REQUIRED_MESSAGES + OUT_OF_TURN_MESSAGES:
        if required not in content.messages:
            r.fail("messages.yml", required, "-", "this message is required")
    for key in OUT_OF_TURN_MESSAGES:
        if key in content.messages and QUICK_EXIT not in _payloads(content, key):
            r.fail("messages.yml", key, "buttons",
                   f"a message that can arrive at any time must offer {QUICK_EXIT}")
    if not any(c.emergency for c in content.contacts.values()):
        r.fail("contacts.yml", "-", "emergency", "at least one emergency contact is required")
    r.problems += number_problems(content)
    if len(content.verified_quiz()) < 15:
        r.fail("quiz.yml", "-", "questions", "the quiz needs at least 15 verified questions")


# Messages the code refers to by key; the content check insists they exist.
REQUIRED_MESSAGES = (
    "greeting", "greeting_campaign", "hotlines", "crisis_danger", "crisis_self_harm",
    "fallback", "out_of_scope", "degraded", "empty_input", "goodbye", "more_forms",
    "quiz_intro", "quiz_correct", "quiz_wrong", "quiz_done", "quiz_stopped", "quiz_none",
    "selfcheck_intro", "selfcheck_none", "selfcheck_result", "quick_exit_done",
    "data_deleted", "legal_menu", "is_it_abuse", "non_text", "group_refusal",
    "button_expired", "quick_exit_unsupported", "data_delete_failed",
    "escalate_end_confirm", "escalate_continue", "escalate_nothing_held",
    "escalate_sum_discreet_on", "escalate_sum_discreet_off", "escalate_sum_remind_on",
    "escalate_sum_remind_off", "counselor_handed_over", "counselor_taken_over",
)
# What the counselor desk sends outside the user's turn: it may arrive while someone else
# holds the phone, so each must offer the quick exit.
OUT_OF_TURN_MESSAGES = ("escalate_claimed", "escalate_counselor_says", "escalate_relayed",
                        "escalate_still_waiting", "escalate_closed", "escalate_discreet_notice",
                        "escalate_requeued")
QUICK_EXIT = "/quick_exit"


def _payloads(content: Content, key: str) -> set[str]:
    message = content.messages[key]
    buttons = list(message.buttons)
    if message.menu in content.menus:
        buttons += content.menus[message.menu]
    return {b.payload for b in buttons}


def load_content(directory: Path) -> Content:
    """Read and validate every content file; raise ``ContentError`` listing all problems."""
    r = _Reader()
    content = Content(
        contacts=_contacts(directory, r), messages=_messages(directory, r),
        menus=_menus(directory, r), crisis=_crisis(directory, r),
        legal=_legal(directory, r), guides=_guides(directory, r),
        explainers=_explainers(directory, r), quiz=_quiz(directory, r),
        selfcheck=_selfcheck(directory, r), answers=_answers(directory, r),
        not_questions=_not_questions(directory, r), canned=_canned(directory, r),
    )
    if r.unreadable:  # one message per unreadable file, not the cascade it would cause
        raise ContentError(r.unreadable)
    _cross_check(content, r)
    if r.problems:
        raise ContentError(r.problems)
    return content
