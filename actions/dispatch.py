"""Sending rendered content through rasa-sdk's dispatcher."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from common.content import Button, Rendered


def send(dispatcher: CollectingDispatcher, rendered: Rendered,
         extra_buttons: List[Button] | None = None) -> None:
    buttons = list(rendered.buttons) + list(extra_buttons or [])
    dispatcher.utter_message(
        text=rendered.text, buttons=[{"title": b.title, "payload": b.payload} for b in buttons])


def latest_intent(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def entity(tracker: Tracker, name: str) -> Any:
    return next(tracker.get_latest_entity_values(name), None)


def as_int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


Events = List[Dict[str, Any]]
