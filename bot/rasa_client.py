"""HTTP client for Rasa: the An Tâm input channel (nlu/channel.py) and the HTTP API.

One call returns the replies, the parsed intent and any custom payloads
(emergency markers, channel actions). Any failure (refused, slow, error
status, nothing usable) raises ``NluUnavailable`` so the core can fall back
to its degraded answer instead of going silent.

With several instances (bot/rasa_instances.py), an instance that refuses or errs is
passed over and the same turn goes to the next one; one that is too slow costs this turn
(it answers degraded) and is passed over for the following ones.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import httpx

from bot.rasa_instances import InstancePool
from bot.replies import Button, Reply

log = logging.getLogger(__name__)

MAX_LINE = 1000  # per transcript line shared with a counselor
# Turns in hand at one Rasa instance. Rasa works through them one at a time, so more would
# only queue inside it, while httpx's pool rescans every waiting request whenever a
# connection frees up: with 200 users that scan took a third of the bot's time.
TURNS_PER_INSTANCE = 8


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
    def __init__(self, base_url: str | tuple[str, ...], secret: str, timeout: float,
                 api_token: str = "", pool: InstancePool | None = None):
        urls = (base_url,) if isinstance(base_url, str) else tuple(base_url)
        self.pool = pool or InstancePool(urls)
        self._headers = {"Authorization": f"Bearer {secret}"}
        self._token = api_token
        self._client = httpx.AsyncClient(timeout=timeout)
        self._timeout = timeout
        self._slots = {url: asyncio.Semaphore(TURNS_PER_INSTANCE) for url in self.pool.urls}
        self.in_flight = 0  # turns sent and not yet answered: how busy Rasa is
        self.waiting = 0  # of those, turns waiting for a free slot at their instance

    async def send(self, sender: str, text: str) -> NluAnswer:
        self.in_flight += 1
        try:
            body = await self._post_turn(sender, text)
        finally:
            self.in_flight -= 1
        return _answer(body)

    async def _post_turn(self, sender: str, text: str) -> dict:
        """The first usable answer among the instances, in the conversation's order. An
        answer with an intent but no reply (that instance's action server is down) moves on
        too, and is returned only if no instance does better."""
        why, understood = "no instance", None
        for url in self.pool.order(sender):
            try:
                response = await self._post_in_slot(url, sender, text)
                response.raise_for_status()
                body = response.json()
                answer = _answer(body)
            except (httpx.HTTPError, ValueError, NluUnavailable) as exc:
                self._failed(url, exc)
                if isinstance(exc, httpx.TimeoutException):
                    raise NluUnavailable("timeout") from exc  # this turn's time is spent
                why = type(exc).__name__
                continue
            if answer.replies or answer.customs:
                self.pool.succeeded(url)
                return body
            self._failed(url, NluUnavailable("no reply"))
            understood = body
        if understood is not None:
            return understood
        raise NluUnavailable(why)

    async def _post_in_slot(self, url: str, sender: str, text: str) -> httpx.Response:
        """One turn to one instance, once fewer than TURNS_PER_INSTANCE are in hand there."""
        slot = self._slots[url]
        self.waiting += 1
        try:
            await asyncio.wait_for(slot.acquire(), self._timeout)
        except TimeoutError:
            raise httpx.PoolTimeout("every turn slot of this instance is busy") from None
        finally:
            self.waiting -= 1
        try:
            return await self._client.post(f"{url}/webhooks/antam/webhook",
                                           headers=self._headers,
                                           json={"sender": sender, "message": text})
        finally:
            slot.release()

    def _failed(self, url: str, error: Exception) -> None:
        if self.pool.healthy(url) and len(self.pool.urls) > 1:
            log.warning("rasa instance %d failed (%s): its conversations move to another",
                        self.pool.urls.index(url) + 1, type(error).__name__)
        self.pool.failed(url)

    async def forget(self, sender: str) -> bool:
        """Replace the conversation's events with none on every instance: Rasa keeps nothing
        of it. True when each instance that answered did so (a dead one holds nothing)."""
        answered = [await self._forget_on(url, sender) for url in self.pool.urls]
        return any(answered) and all(a is not False for a in answered)

    async def _forget_on(self, url: str, sender: str) -> bool | None:
        try:
            response = await self._client.put(
                f"{url}/conversations/{sender}/tracker/events",
                params={"token": self._token}, json=[])
            return response.status_code == 200
        except httpx.TransportError:
            return None  # not reachable: a dead process kept nothing
        except httpx.HTTPError:
            return False

    async def transcript(self, sender: str, limit: int = 40) -> list[dict]:
        """The conversation's typed lines (not button payloads), for a case the user chose to
        share: [{"from": "user"|"bot", "text": ...}]. Empty if Rasa cannot say."""
        for url in self.pool.order(sender):
            try:
                response = await self._client.get(f"{url}/conversations/{sender}/tracker",
                                                  params={"token": self._token})
                response.raise_for_status()
                events = response.json().get("events") or []
            except (httpx.HTTPError, ValueError):
                continue
            lines = [{"from": e["event"], "text": (e.get("text") or "")[:MAX_LINE]}
                     for e in events if e.get("event") in ("user", "bot") and e.get("text")
                     and not str(e.get("text")).startswith("/")]
            return lines[-limit:]
        return []

    async def close(self) -> None:
        await self._client.aclose()


def _answer(body: dict) -> NluAnswer:
    """The turn's answer; NluUnavailable when it holds nothing usable."""
    if not isinstance(body, dict):
        raise NluUnavailable("not an object")
    replies, customs = _parse(body.get("messages") or [])
    intent = body.get("intent") or {}
    if not replies and not customs and not intent.get("name"):
        raise NluUnavailable("empty answer")
    ranking = tuple((str(r.get("name")), float(r.get("confidence") or 0))
                    for r in body.get("ranking") or [])
    return NluAnswer(intent.get("name"), intent.get("confidence"), replies, customs, ranking)
