"""HTTP client for Rasa's An Tâm input channel (see nlu/channel.py).

One call returns both the replies and the parsed intent. Any failure (refused,
slow, error status, no reply) raises ``NluUnavailable`` so the core can fall
back to its degraded answer instead of going silent.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from bot.replies import Button, Reply


class NluUnavailable(Exception):
    """Rasa or the action server did not give a usable answer in time."""


@dataclass(frozen=True)
class NluAnswer:
    intent: str | None
    confidence: float | None
    replies: tuple[Reply, ...]


def _parse_replies(messages: list) -> tuple[Reply, ...]:
    replies = []
    for message in messages:
        text = (message.get("text") or "").strip()
        buttons = tuple(Button(str(b.get("title", "")), str(b.get("payload", "")))
                        for b in message.get("buttons") or [])
        if text or buttons:
            replies.append(Reply(text, buttons))
    return tuple(replies)


class RasaClient:
    def __init__(self, base_url: str, secret: str, timeout: float):
        self._url = f"{base_url}/webhooks/antam/webhook"
        self._headers = {"Authorization": f"Bearer {secret}"}
        self._client = httpx.AsyncClient(timeout=timeout)

    async def send(self, sender: str, text: str) -> NluAnswer:
        try:
            response = await self._client.post(
                self._url, headers=self._headers, json={"sender": sender, "message": text})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise NluUnavailable(type(exc).__name__) from exc
        replies = _parse_replies(body.get("messages") or [])
        if not replies:
            raise NluUnavailable("empty answer")
        intent = body.get("intent") or {}
        return NluAnswer(intent.get("name"), intent.get("confidence"), replies)

    async def close(self) -> None:
        await self._client.aclose()
