"""HTTP client for Rasa: the An Tâm input channel (nlu/channel.py) and the HTTP API.

One call returns the replies, the parsed intent and any custom payloads
(emergency markers, channel actions). Any failure (refused, slow, error
status, nothing usable) raises ``NluUnavailable`` so the core can fall back
to its degraded answer instead of going silent.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from bot.replies import Button, Reply

MAX_LINE = 1000  # per transcript line shared with a counselor


class NluUnavailable(Exception):
    """Rasa or the action server did not give a usable answer in time."""


@dataclass(frozen=True)
class NluAnswer:
    intent: str | None
    confidence: float | None
    replies: tuple[Reply, ...]
    customs: tuple[dict, ...] = ()  # {"emergency": kind} or {"channel_action": name}
    ranking: tuple[tuple[str, float], ...] = ()  # the top intents with confidences


def _parse(messages: list) -> tuple[tuple[Reply, ...], tuple[dict, ...]]:
    replies, customs = [], []
    for message in messages:
        if isinstance(message.get("custom"), dict):
            customs.append(message["custom"])
        text = (message.get("text") or "").strip()
        buttons = tuple(Button(str(b.get("title", "")), str(b.get("payload", "")))
                        for b in message.get("buttons") or [])
        if text or buttons:
            replies.append(Reply(text, buttons))
    return tuple(replies), tuple(customs)


class RasaClient:
    def __init__(self, base_url: str, secret: str, timeout: float, api_token: str = ""):
        self._base = base_url
        self._headers = {"Authorization": f"Bearer {secret}"}
        self._token = api_token
        self._client = httpx.AsyncClient(timeout=timeout)
        self.in_flight = 0  # turns sent and not yet answered: how busy Rasa is

    async def send(self, sender: str, text: str) -> NluAnswer:
        self.in_flight += 1
        try:
            response = await self._client.post(
                f"{self._base}/webhooks/antam/webhook", headers=self._headers,
                json={"sender": sender, "message": text})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise NluUnavailable(type(exc).__name__) from exc
        finally:
            self.in_flight -= 1
        replies, customs = _parse(body.get("messages") or [])
        intent = body.get("intent") or {}
        if not replies and not customs and not intent.get("name"):
            raise NluUnavailable("empty answer")
        ranking = tuple((str(r.get("name")), float(r.get("confidence") or 0))
                        for r in body.get("ranking") or [])
        return NluAnswer(intent.get("name"), intent.get("confidence"), replies, customs, ranking)

    async def forget(self, sender: str) -> bool:
        """Replace the conversation's events with none: Rasa keeps nothing of it."""
        try:
            response = await self._client.put(
                f"{self._base}/conversations/{sender}/tracker/events",
                params={"token": self._token}, json=[])
            return response.status_code == 200
        except httpx.HTTPError:
            return False

    async def transcript(self, sender: str, limit: int = 40) -> list[dict]:
        """The conversation's typed lines (not button payloads), for a case the user chose to
        share: [{"from": "user"|"bot", "text": ...}]. Empty if Rasa cannot say."""
        try:
            response = await self._client.get(f"{self._base}/conversations/{sender}/tracker",
                                              params={"token": self._token})
            response.raise_for_status()
            events = response.json().get("events") or []
        except (httpx.HTTPError, ValueError):
            return []
        lines = [{"from": e["event"], "text": (e.get("text") or "")[:MAX_LINE]}
                 for e in events if e.get("event") in ("user", "bot") and e.get("text")
                 and not str(e.get("text")).startswith("/")]
        return lines[-limit:]

    async def close(self) -> None:
        await self._client.aclose()
