"""Typed commands and reserved payloads: the same in every channel and every state.

A command is what a person can type ("/thoat"); a payload is what a button carries
("/quick_exit"). Reserved payloads (quick exit, wiping one's data) are carried out by the
core before anything else reads the message: not Rasa, not a counselor's relay.
"""

from __future__ import annotations

from common.textnorm import fold

# Typed command -> the payload it stands for. Telegram also lists the first four in its menu.
COMMANDS = {
    "start": "/greet",
    "menu": "/ask_menu",
    "thoat": "/quick_exit",
    "xoa": "/delete_my_data",
    "help": "/ask_menu",
    "xem": "/counselor_show",
    "huy": "/counselor_cancel",
    "ketthuc": "/counselor_end",
}
# Payload -> the channel action the core carries out itself, in any state, Rasa up or down.
RESERVED = {"/quick_exit": "quick_exit", "/delete_my_data": "delete_my_data"}
# Whole messages that mean the quick-exit button (folded: with or without diacritics).
_QUICK_EXIT_WORDS = frozenset({"thoat nhanh"})


def payload_of(text: str) -> str:
    """The payload a typed message stands for, or the message itself."""
    stripped = text.strip()
    if stripped.startswith("/") and len(stripped) > 1:
        command = stripped[1:].split()[0].split("@", 1)[0].lower()
        if command in COMMANDS:
            return COMMANDS[command]
    if fold(stripped).rstrip(".!") in _QUICK_EXIT_WORDS:
        return "/quick_exit"
    return text


def reserved_action(text: str) -> str | None:
    """The channel action a message asks for before anything else, if any."""
    return RESERVED.get(payload_of(text).strip())


def command_for(payload: str) -> str | None:
    """What a person can type instead of pressing a button with this payload."""
    return next((f"/{name}" for name, p in COMMANDS.items() if p == payload), None)
