"""Turn content entries into messages: text first (short), then buttons.

Button payloads come out in Rasa's form: "@guide:evidence" becomes
``/show_entry{"ref":"guide:evidence"}`` so a press works like typing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from common.content.model import (
    Button,
    Contact,
    Content,
    Explainer,
    Guide,
    LegalFact,
    Message,
    Rendered,
)

NEXT_STEPS = "next_steps"  # menu appended to informational answers
MAX_BUTTONS = 6
QUICK_EXIT = "/quick_exit"
MORE = "Xem thêm"
MORE_CHOICES = "Các câu hỏi khác"


def rasa_payload(payload: str) -> str:
    if not payload.startswith("@"):
        return payload
    if payload.startswith("@more:"):
        entities = {"ref": payload[len("@more:"):], "part": "details"}
    else:
        entities = {"ref": payload[1:]}
    return "/show_entry" + json.dumps(entities, separators=(",", ":"))


def _buttons(*groups: Iterable[Button]) -> tuple[Button, ...]:
    """Concatenate, convert payloads, drop repeats, cap the count. The quick exit is never
    the button the cap drops: it goes last, in place of another."""
    seen, result = set(), []
    for group in groups:
        for button in group:
            payload = rasa_payload(button.payload)
            if payload not in seen:
                seen.add(payload)
                result.append(Button(button.title, payload))
    if len(result) > MAX_BUTTONS:
        exits = [b for b in result if b.payload == QUICK_EXIT]
        others = [b for b in result if b.payload != QUICK_EXIT]
        result = others[:MAX_BUTTONS - len(exits)] + exits
    return tuple(result)


def _related(content: Content, refs: Iterable[str], room: int) -> list[Button]:
    """Buttons for related entries, at most ``room`` so the next steps always fit."""
    buttons = [Button(content.entry(ref).label, "@" + ref) for ref in refs
               if content.is_shown(ref)]
    return buttons[:max(room, 0)]


def with_more_choices(rendered: Rendered, ref: str) -> Rendered:
    """A specific answer, with the broader answer it replaced one button away."""
    return Rendered(rendered.text, _buttons((Button(MORE_CHOICES, "@" + ref),), rendered.buttons))


def render(content: Content, key: str) -> Rendered:
    """Message ``key`` from messages.yml, with contact lines and buttons."""
    return _message(content, content.messages[key])


def _message(content: Content, message: Message) -> Rendered:
    lines = [message.text]
    lines += [content.contacts[cid].line() for cid in message.contact_ids]
    menu = content.menus.get(message.menu, ()) if message.menu else ()
    return Rendered("\n".join(lines), _buttons(message.buttons, menu))


def render_ref(content: Content, ref: str, part: str = "short") -> Rendered:
    """Entry ``ref`` (``guide:evidence``…); ``part="details"`` is its "Xem thêm" page."""
    if not content.is_shown(ref):
        raise KeyError(ref)
    entry = content.entry(ref)
    next_steps = content.menus.get(NEXT_STEPS, ())
    if isinstance(entry, Message):
        return _message(content, entry)
    if isinstance(entry, Guide):
        return _guide(content, ref, entry, part, next_steps)
    if isinstance(entry, LegalFact):
        return _legal(ref, entry, part, next_steps)
    if isinstance(entry, Explainer):
        examples = "\n".join(f"• {e}" for e in entry.examples)
        return Rendered(f"{entry.title}\n\n{entry.short}\n\nVí dụ:\n{examples}",
                        _buttons(next_steps))
    return Rendered(_contact_lines(content, entry), _buttons(next_steps))


def _contact_lines(content: Content, contact: Contact) -> str:
    """One contact asked for by name; a paid one comes after the free 24/7 line, as in
    every list."""
    free = [] if contact.free else [c.line() for c in content.contacts.values()
                                    if c.free_support_line]
    return "\n".join([*free, contact.line()])


def _guide(content: Content, ref: str, guide: Guide, part: str,
           next_steps: tuple[Button, ...]) -> Rendered:
    room = MAX_BUTTONS - len(next_steps)
    if part == "details" and guide.details:
        return Rendered(guide.details,
                        _buttons(_related(content, guide.related, room), next_steps))
    more = [Button(MORE, "@more:" + ref)] if guide.details else []
    related = _related(content, guide.related, room - len(more))
    return Rendered(f"{guide.title}\n\n{guide.short}", _buttons(more, related, next_steps))


def _legal(ref: str, fact: LegalFact, part: str, next_steps: tuple[Button, ...]) -> Rendered:
    citation = f"Căn cứ: {fact.article + ', ' if fact.article else ''}{fact.law}."
    if part == "details":
        return Rendered(f"{fact.details}\n\n{citation}", _buttons(next_steps))
    more = [Button(MORE, "@more:" + ref)] if fact.details else []
    return Rendered(f"{fact.question}\n\n{fact.short}\n\n{citation}", _buttons(more, next_steps))
