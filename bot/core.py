"""The channel-neutral conversation core.

Every channel hands its messages to ``ConversationCore.handle`` and renders
the ``TurnResult`` it gets back. Per message:

1. clean the input (NFC, no control characters); empty input gets a prompt;
2. run the crisis safety net, which never depends on Rasa;
3. ask Rasa (through the An Tâm input channel) under a pseudonym, with a timeout;
4. on any Rasa failure answer in degraded mode: the emergency reply for a
   crisis, otherwise an apology with the contacts;
5. record anonymous statistics. Message text is never stored or logged.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from bot.pseudonym import pseudonymise
from bot.rasa_client import NluUnavailable, RasaClient
from bot.replies import Button, Reply, TurnResult
from bot.safety import CRISIS_INTENTS, EMBEDDED_EMERGENCY, SafetyNet
from bot.storage import Database
from common.content import ContentError, ContentStore
from common.textnorm import clean

log = logging.getLogger(__name__)

# Rasa sees at most this much; the safety net always reads the whole message.
MAX_NLU_CHARS = 1000


@dataclass(frozen=True)
class IncomingMessage:
    channel: str  # "console", "telegram", "zalo"
    user_id: str  # the platform's id; pseudonymised before it goes anywhere
    text: str  # what the user typed, or a button payload such as "/ask_hotline"


class ConversationCore:
    def __init__(self, nlu: RasaClient, content: ContentStore, safety: SafetyNet,
                 database: Database | None, pseudonym_key: str):
        self._nlu = nlu
        self._content = content
        self._safety = safety
        self._db = database
        self._key = pseudonym_key

    async def handle(self, message: IncomingMessage) -> TurnResult:
        started = time.perf_counter()
        pseudonym = pseudonymise(self._key, message.channel, message.user_id)
        result = await self._answer(clean(message.text), pseudonym)
        latency_ms = int((time.perf_counter() - started) * 1000)
        log.info("turn channel=%s user=%s intent=%s crisis=%s degraded=%s ms=%d",
                 message.channel, pseudonym[:12], result.intent, result.crisis,
                 result.degraded, latency_ms)
        self._record(pseudonym, message.channel, result, latency_ms)
        return result

    async def _answer(self, text: str, pseudonym: str) -> TurnResult:
        if not text:
            return TurnResult(replies=(self._render("empty_input"),))
        crisis_kind = self._safety.assess(text)
        try:
            answer = await self._nlu.send(pseudonym, text[:MAX_NLU_CHARS])
        except NluUnavailable as exc:
            log.warning("degraded mode: %s", exc)
            return self._degraded(crisis_kind)
        crisis = crisis_kind is not None or answer.intent in CRISIS_INTENTS
        replies = answer.replies
        if crisis:
            replies = _put_first(self._safety.emergency_reply(), replies)
        return TurnResult(replies=replies, intent=answer.intent, confidence=answer.confidence,
                          crisis=crisis)

    def _degraded(self, crisis_kind: str | None) -> TurnResult:
        if crisis_kind:
            reply = self._safety.emergency_reply()
            return TurnResult(replies=(reply,), intent=crisis_kind, crisis=True, degraded=True)
        return TurnResult(replies=(self._render("degraded"),), degraded=True)

    def _render(self, key: str) -> Reply:
        try:
            text, buttons = self._content.get().render(key)
        except (ContentError, KeyError):
            log.error("message %r unavailable: using the embedded emergency reply", key)
            return EMBEDDED_EMERGENCY
        return Reply(text, tuple(Button(b.title, b.payload) for b in buttons))

    def _record(self, pseudonym: str, channel: str, result: TurnResult, latency_ms: int) -> None:
        if self._db is None:
            return
        try:
            self._db.record_turn(pseudonym, channel, result.intent, result.crisis,
                                 result.degraded, latency_ms)
        except Exception:  # statistics must never cost a user their answer
            log.exception("could not record turn statistics")


def _put_first(first: Reply, replies: tuple[Reply, ...]) -> tuple[Reply, ...]:
    """``first`` then ``replies``, without repeating a reply with the same text."""
    return (first, *(r for r in replies if r.text != first.text))

