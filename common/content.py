"""Load, validate and hot-reload the editor-maintained content in ``content/``.

Editors change YAML, never code. A broken edit must never take the bot down:
``ContentStore`` keeps serving the last good content and logs what is wrong,
naming the file, the entry and the field.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from common.textnorm import fold

log = logging.getLogger(__name__)

CONTENT_FILES = ("contacts.yml", "messages.yml", "menus.yml", "crisis.yml")
# Vietnamese numbers: 3-digit emergency lines, 1800/1900 lines, fixed/mobile numbers.
_PHONE = re.compile(r"^(11[1-5]|1[89]00( ?\d){4,6}|0\d( ?\d){8,9})$")
_PAYLOAD = re.compile(r"^/[a-z_]+$")


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
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


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
    source: str
    reviewed: dt.date

    def line(self) -> str:
        return f"• {self.number} – {self.name}: {self.serves} ({self.hours}, {self.cost})."


@dataclass(frozen=True)
class Message:
    """A reply template: text, then optional contact lines, then optional buttons."""

    text: str
    contact_ids: tuple[str, ...] = ()
    menu: str | None = None


@dataclass(frozen=True)
class Content:
    contacts: dict[str, Contact]
    messages: dict[str, Message]
    menus: dict[str, tuple[Button, ...]]
    crisis_triggers: dict[str, tuple[str, ...]]  # kind -> folded phrases
    loaded_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))

    def render(self, key: str) -> tuple[str, tuple[Button, ...]]:
        """The text (with its contact lines) and the buttons of message ``key``."""
        message = self.messages[key]
        lines = [message.text.strip()]
        lines += [self.contacts[cid].line() for cid in message.contact_ids]
        buttons = self.menus.get(message.menu, ()) if message.menu else ()
        return "\n".join(lines), buttons

    def stale_facts(self, today: dt.date, max_age_days: int = 365) -> list[Problem]:
        """Contacts whose review is older than ``max_age_days``: warnings, not errors."""
        return [
            Problem("contacts.yml", c.id, "reviewed",
                    f"last reviewed {c.reviewed}, over a year ago")
            for c in self.contacts.values()
            if (today - c.reviewed).days > max_age_days
        ]


class _Reader:
    """Collects every problem in one pass so an editor sees them all at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, file: str, entry: str, fld: str, message: str) -> None:
        self.problems.append(Problem(file, entry, fld, message))

    def text(self, file: str, entry: str, data: dict, fld: str) -> str:
        value = data.get(fld)
        if not isinstance(value, str) or not value.strip():
            self.fail(file, entry, fld, "required text is missing or empty")
            return ""
        return value.strip()

    def date(self, file: str, entry: str, data: dict, fld: str) -> dt.date:
        value = data.get(fld)
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(file, entry, fld, "must be a date written YYYY-MM-DD")
            return dt.date.min


def _read_yaml(directory: Path, name: str, reader: _Reader) -> dict[str, Any]:
    path = directory / name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        reader.fail(name, "-", "-", "file is missing")
        return {}
    except yaml.YAMLError as exc:
        reader.fail(name, "-", "-", f"not valid YAML: {exc}")
        return {}
    if not isinstance(data, dict):
        reader.fail(name, "-", "-", "must be a mapping at the top level")
        return {}
    return data


def _entries(data: dict, key: str, file: str, reader: _Reader) -> list[tuple[str, dict]]:
    items = data.get(key)
    if not isinstance(items, list):
        reader.fail(file, "-", key, "must be a list of entries")
        return []
    result = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            reader.fail(file, f"#{index + 1}", "id", "each entry needs an 'id'")
            continue
        result.append((item["id"], item))
    return result


def _load_contacts(directory: Path, reader: _Reader) -> dict[str, Contact]:
    file = "contacts.yml"
    contacts: dict[str, Contact] = {}
    for cid, item in _entries(_read_yaml(directory, file, reader), "contacts", file, reader):
        number = reader.text(file, cid, item, "number")
        if number and not _PHONE.match(number):
            reader.fail(file, cid, "number", f"'{number}' is not a Vietnamese phone number")
        if cid in contacts:
            reader.fail(file, cid, "id", "duplicate id")
        contacts[cid] = Contact(
            id=cid,
            name=reader.text(file, cid, item, "name"),
            number=number,
            hours=reader.text(file, cid, item, "hours"),
            cost=reader.text(file, cid, item, "cost"),
            serves=reader.text(file, cid, item, "serves"),
            region=reader.text(file, cid, item, "region"),
            emergency=bool(item.get("emergency", False)),
            source=reader.text(file, cid, item, "source"),
            reviewed=reader.date(file, cid, item, "reviewed"),
        )
    return contacts


def _load_menus(directory: Path, reader: _Reader) -> dict[str, tuple[Button, ...]]:
    file = "menus.yml"
    menus: dict[str, tuple[Button, ...]] = {}
    for mid, item in _entries(_read_yaml(directory, file, reader), "menus", file, reader):
        buttons = []
        for index, raw in enumerate(item.get("buttons") or []):
            where = f"buttons[{index}]"
            raw = raw if isinstance(raw, dict) else {}
            title = reader.text(file, mid, raw, "title") if raw else ""
            payload = str(raw.get("payload", ""))
            if not raw:
                reader.fail(file, mid, where, "each button needs a title and a payload")
            elif not _PAYLOAD.match(payload):
                reader.fail(file, mid, f"{where}.payload", "must look like /intent_name")
            buttons.append(Button(title, payload))
        if not buttons:
            reader.fail(file, mid, "buttons", "a menu needs at least one button")
        menus[mid] = tuple(buttons)
    return menus


def _load_messages(directory: Path, reader: _Reader) -> dict[str, Message]:
    file = "messages.yml"
    messages: dict[str, Message] = {}
    for key, item in _entries(_read_yaml(directory, file, reader), "messages", file, reader):
        ids = item.get("contacts") or []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            reader.fail(file, key, "contacts", "must be a list of contact ids")
            ids = []
        menu = item.get("menu")
        messages[key] = Message(reader.text(file, key, item, "text"), tuple(ids), menu)
    return messages


def _load_crisis(directory: Path, reader: _Reader) -> dict[str, tuple[str, ...]]:
    file = "crisis.yml"
    triggers: dict[str, tuple[str, ...]] = {}
    for kind, item in _entries(_read_yaml(directory, file, reader), "triggers", file, reader):
        phrases = item.get("phrases")
        if not isinstance(phrases, list) or not phrases:
            reader.fail(file, kind, "phrases", "must be a non-empty list of phrases")
            continue
        triggers[kind] = tuple(fold(str(p)) for p in phrases)
    return triggers


def _cross_check(content: Content, reader: _Reader) -> None:
    for key, message in content.messages.items():
        for cid in message.contact_ids:
            if cid not in content.contacts:
                reader.fail("messages.yml", key, "contacts", f"unknown contact '{cid}'")
        if message.menu and message.menu not in content.menus:
            reader.fail("messages.yml", key, "menu", f"unknown menu '{message.menu}'")
    for required in REQUIRED_MESSAGES:
        if required not in content.messages:
            reader.fail("messages.yml", required, "-", "this message is required")
    if not any(c.emergency for c in content.contacts.values()):
        reader.fail("contacts.yml", "-", "emergency", "at least one emergency contact is required")


# Messages the code refers to by key; the content check insists they exist.
REQUIRED_MESSAGES = (
    "greeting",
    "hotlines",
    "crisis",
    "fallback",
    "out_of_scope",
    "degraded",
    "empty_input",
    "goodbye",
)


def load_content(directory: Path) -> Content:
    """Read and validate every content file; raise ``ContentError`` listing all problems."""
    reader = _Reader()
    content = Content(
        contacts=_load_contacts(directory, reader),
        messages=_load_messages(directory, reader),
        menus=_load_menus(directory, reader),
        crisis_triggers=_load_crisis(directory, reader),
    )
    _cross_check(content, reader)
    if reader.problems:
        raise ContentError(reader.problems)
    return content


class ContentStore:
    """Serves the newest valid content; reloads when a file changes.

    The swap is a single reference assignment, so a reader sees either the old
    or the new content, never a mix. A broken edit keeps the last good content.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self._lock = threading.Lock()
        self._signature: tuple = ()
        self._current: Content | None = None
        self.last_error: ContentError | None = None

    def _files_signature(self) -> tuple:
        sig = []
        for name in CONTENT_FILES:
            try:
                stat = (self.directory / name).stat()
                sig.append((name, stat.st_mtime_ns, stat.st_size))
            except FileNotFoundError:
                sig.append((name, None, None))
        return tuple(sig)

    def get(self) -> Content:
        """Current content; raises ``ContentError`` only if no valid content was ever loaded."""
        signature = self._files_signature()
        if signature != self._signature:
            with self._lock:
                if signature != self._signature:
                    self._reload(signature)
        if self._current is None:
            assert self.last_error is not None
            raise self.last_error
        return self._current

    def _reload(self, signature: tuple) -> None:
        try:
            self._current = load_content(self.directory)
            self.last_error = None
            log.info("content loaded from %s", self.directory.name)
        except ContentError as exc:
            self.last_error = exc
            log.error("content has errors; keeping the last good version:\n%s", exc)
        self._signature = signature
