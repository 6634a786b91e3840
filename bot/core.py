"""The channel-neutral conversation core.

Every channel hands its messages to ``ConversationCore.handle`` and renders
the ``TurnResult`` it gets back. Per message:

1. clean the input (NFC, no control characters); empty input gets a prompt;
   a reserved command (quick exit, wiping one's data) is carried out at once, in
   every state: no counselor relay or Rasa reads it first;
2. run the crisis safety net, which never depends on Rasa. A certain match sends
   the emergency reply at once, through the channel's ``early`` sender, before
   Rasa is asked; an uncertain one waits at most ``CRISIS_PATIENCE_S`` for the
   model to weigh it (not at all while Rasa is saturated), then goes out anyway.
   The safety net never waits in line;
3. ask Rasa (through the An Tâm input channel) under a pseudonym, with a timeout;
4. on any Rasa failure answer in degraded mode: the emergency reply for a
   crisis, otherwise an apology with the contacts;
5. put exactly one emergency reply first when the net or the model sees a crisis;
6. carry out data wipes the answer asks for, report honestly whether they went
   through, and record anonymous statistics.

Message text is never stored or logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial

from bot.commands import payload_of, reserved_action
from bot.escalation.desk import CounselorDesk
from bot.escalation.outbox import Outbox, address
from bot.ops.metrics import Metrics
from bot.pseudonym import pseudonymise
from bot.rasa_client import NluAnswer, NluUnavailable, RasaClient
from bot.replies import Reply, TurnResult
from bot.safety import EMBEDDED_EMERGENCY, SafetyNet, Signal, emergency_entry
from bot.storage import Database
from bot.storage.database import add_turn
from bot.storage.write_behind import WriteBehind
from bot.wipe import Wipe
from common.content import ContentError, ContentStore, render
from common.intents import CRISIS_INTENTS, NEVER_CALM_INTENTS
from common.textnorm import clean

log = logging.getLogger(__name__)

# Rasa sees at most this much; the safety net always reads the whole message.
MAX_NLU_CHARS = 1000


@dataclass(frozen=True)
class IncomingMessage:
    channel: str  # "console", "telegram", "zalo"
    user_id: str  # the platform's id; pseudonymised before it goes anywhere
    text: str  # what the user typed, or a button payload such as "/ask_hotline"


# A crisis intent this likely, even in second place, also brings the emergency
# reply. These three values were chosen on the held-out and the development
# precision sets (bench/crisis_thresholds.py, docs/nlu.md): crisis recall stays 1.0
# on both while the fewest harmless sentences get the emergency reply.
CRISIS_RANKING_MIN = 0.4
# An uncertain match of the safety net (bare letters, or a phrase also used lightly)
# stands unless the model reads the message as something harmless with at least
# this confidence, and gives the crisis intents less than CRISIS_HINT_MAX together.
CALM_CONFIDENCE = 0.4
CRISIS_HINT_MAX = 0.2
# How long an uncertain match waits for the model before the emergency reply goes out
# anyway (a certain match never waits). An unloaded turn takes about 85 ms, p95 110 ms
# (bench/turn_latency.py), so the model weighs nearly every uncertain match in time.
CRISIS_PATIENCE_S = 0.25
# With more turns than this waiting on Rasa, it is saturated: an uncertain match does
# not wait at all, so 113 is never held back by a queue (bench/crisis_first.py).
RASA_SATURATED = 4

# A channel's way to send one reply before the turn's answer is ready.
EarlySend = Callable[[Reply], Awaitable[None]]


class Alarm:
    """The emergency reply of one turn: sent at most once, early when the channel can."""

    def __init__(self, safety: SafetyNet, early: EarlySend | None):
        self._safety = safety
        self._early = early
        self.sent: str | None = None  # the kind whose reply went out early

    @property
    def can_send(self) -> bool:
        return self._early is not None and self.sent is None

    async def raise_now(self, kind: str) -> None:
        if not self.can_send:
            return
        try:
            await self._early(self._safety.emergency_reply(kind))
            self.sent = kind
        except Exception as error:  # the turn's answer will carry the reply instead
            log.error("early emergency reply failed: %s", type(error).__name__)


def model_is_calm(answer: NluAnswer) -> bool:
    """The model is confident the message is harmless: not a crisis, nor someone telling
    of harm or asking what to do (Rasa's fallback, at 0.25, is never confident enough)."""
    crisis = sum(c for name, c in answer.ranking if name in CRISIS_INTENTS)
    return (answer.intent not in NEVER_CALM_INTENTS
            and (answer.confidence or 0.0) >= CALM_CONFIDENCE and crisis < CRISIS_HINT_MAX)


def crisis_kind(net: Signal | None, answer: NluAnswer | None) -> str | None:
    """The crisis the message signals, from the net, the model or the action server."""
    kinds = set()
    if net is not None and (net.certain or answer is None or not model_is_calm(answer)):
        kinds.add(net.kind)
    if answer is not None:
        kinds.add(answer.intent if answer.intent in CRISIS_INTENTS else None)
        kinds.update(c.get("emergency") for c in answer.customs)
        kinds.update(name for name, confidence in answer.ranking
                     if confidence >= CRISIS_RANKING_MIN)
    kinds &= CRISIS_INTENTS
    # Self-harm's reply carries the same numbers and also offers a counselor.
    return "self_harm" if "self_harm" in kinds else next(iter(kinds), None)


class ConversationCore:
    def __init__(self, nlu: RasaClient, content: ContentStore, safety: SafetyNet,
                 database: Database | None, pseudonym_key: str,
                 desk: CounselorDesk | None = None,
                 crisis_patience: float = CRISIS_PATIENCE_S, metrics: Metrics | None = None):
        self._nlu = nlu
        self._metrics = metrics
        self._patience = crisis_patience
        self._desk = desk
        self._content = content
        self._safety = safety
        self._db = database
        self._key = pseudonym_key
        self._writes = WriteBehind(database) if database is not None else None
        self.wipe = self._data_wipe()
        self.exit = Wipe([("conversation", self._forget_conversation)]
                         + ([("escalation", desk.leave)] if desk else []))

    def _data_wipe(self) -> Wipe:
        """/xoa: every place that holds something of the person; channels add theirs."""
        steps = [("statistics", lambda _: self.drain()),
                 ("conversation", self._forget_conversation)]
        if self._desk is not None:
            steps.append(("escalation", self._desk.forget))
        if self._db is not None:
            steps.append(("records", partial(asyncio.to_thread, self._db.forget)))
            return Wipe(steps, last=("scrub", lambda _: asyncio.to_thread(self._db.scrub)))
        return Wipe(steps)

    async def _forget_conversation(self, pseudonym: str) -> bool:
        return await self._nlu.forget(pseudonym)

    def pseudonym(self, channel: str, user_id: str) -> str:
        return pseudonymise(self._key, channel, user_id)

    @property
    def outbox(self) -> Outbox | None:
        """Where channels register to deliver counselors' messages (None: no escalation)."""
        return self._desk.hub.outbox if self._desk else None

    async def handle(self, message: IncomingMessage, early: EarlySend | None = None) -> TurnResult:
        """The answer to one message. ``early`` sends the emergency reply before the
        answer is ready; the result then leaves it out (``crisis`` still says so)."""
        started = time.perf_counter()
        pseudonym = self.pseudonym(message.channel, message.user_id)
        alarm = Alarm(self._safety, early)
        result = await self._answer(clean(message.text), pseudonym,
                                    address(message.channel, message.user_id), alarm)
        result = await self._carry_out(result, pseudonym)
        seconds = time.perf_counter() - started
        latency_ms = int(seconds * 1000)
        if self._metrics is not None:
            self._metrics.turn(message.channel, result, seconds, early=alarm.sent is not None)
        # No per-person identifier: a log of sensitive intents per pseudonym would be a
        # history that /xoa cannot remove.
        log.info("turn channel=%s intent=%s crisis=%s degraded=%s ms=%d",
                 message.channel, result.intent, result.crisis, result.degraded, latency_ms)
        if "delete_my_data" not in result.actions:
            self._record_later(pseudonym, message.channel, result, latency_ms)
        return result

    def _record_later(self, pseudonym: str, channel: str, result: TurnResult,
                      latency_ms: int) -> None:
        """Statistics are written after the reply, batched: no commit on the reply path."""
        if self._writes is not None:
            self._writes.add(partial(add_turn, pseudonym=pseudonym, channel=channel,
                                     intent=result.intent, crisis=result.crisis,
                                     degraded=result.degraded, latency_ms=latency_ms))

    def emergency_now(self, text: str) -> Reply | None:
        """The emergency reply for a message the crisis net flags, for a channel that cannot
        run the turn yet (its database is away). An uncertain match gets it too: as when Rasa
        is slower than the patience allows, the model cannot weigh it in time."""
        net = self._safety.assess(payload_of(text))
        return self._safety.emergency_reply(net.kind) if net is not None else None

    async def drain(self) -> None:
        """Commit statistics still queued (before a wipe, and before shutting down)."""
        if self._writes is not None:
            await self._writes.flush()

    async def _answer(self, text: str, pseudonym: str, to: str, alarm: Alarm) -> TurnResult:
        if not text:
            return TurnResult(replies=(self.render("empty_input"),),
                              entries=("message:empty_input",))
        action = reserved_action(text)
        if action is not None:
            return self._reserved(action)
        text = payload_of(text)
        net = self._safety.assess(text)
        if net is not None and net.certain:
            await alarm.raise_now(net.kind)
        if self._desk is not None:
            # Intake answers and relayed messages go to the desk, never to Rasa.
            owned = await self._desk_step(self._desk.handle(pseudonym, to, text))
            if owned is not None:
                return self._with_emergency(net and net.kind, owned, intent="escalation",
                                            alarm=alarm)
        try:
            answer = await self._weighed(self._nlu.send(pseudonym, text[:MAX_NLU_CHARS]),
                                         net, alarm)
        except NluUnavailable as exc:
            log.warning("degraded mode: %s", exc)
            return self._degraded(net and net.kind, alarm)
        kind = crisis_kind(net, answer)
        if not answer.replies and not answer.customs:
            # Understood but unanswered (e.g. the action server is down).
            log.warning("degraded mode: no reply for intent %s", answer.intent)
            return self._degraded(kind, alarm)
        replies = answer.replies
        entries = tuple(ref for c in answer.customs for ref in c.get("entries") or ()
                        if isinstance(ref, str))
        if self._desk is not None:
            await self._desk_step(self._desk.note_turn(pseudonym, answer.intent, kind))
            if answer.intent == "request_counselor":
                intake = await self._desk_step(self._desk.start(pseudonym))
                # A question answered by its own entry ("will my unit know if I talk to
                # a counselor?") keeps that answer before the intake.
                asked = any(c.get("instead_of") for c in answer.customs)
                replies = ((*replies, *intake) if asked else intake) if intake else replies
        actions = tuple(c["channel_action"] for c in answer.customs if "channel_action" in c)
        return self._with_emergency(kind, replies, answer.intent, answer.confidence, actions,
                                    entries, alarm)

    async def _weighed(self, request: Awaitable[NluAnswer], net: Signal | None,
                       alarm: Alarm) -> NluAnswer:
        """Rasa's answer. While an uncertain match waits for it longer than the
        patience allows, the emergency reply goes out early."""
        task = asyncio.ensure_future(request)
        try:
            if net is not None and alarm.can_send:
                saturated = self._nlu.in_flight > RASA_SATURATED
                done, _ = await asyncio.wait({task}, timeout=0 if saturated else self._patience)
                if not done:
                    await alarm.raise_now(net.kind)
            return await task
        finally:
            task.cancel()  # a no-op once done; stops the request if the turn is cancelled

    def _with_emergency(self, kind: str | None, replies: tuple[Reply, ...], intent: str | None,
                        confidence: float | None = None, actions: tuple[str, ...] = (),
                        entries: tuple[str, ...] = (), alarm: Alarm | None = None) -> TurnResult:
        """Exactly one emergency reply, first, whenever a crisis is signalled: in the
        result, or already sent early."""
        sent = alarm.sent if alarm else None
        if kind and not sent:
            replies = (self._safety.emergency_reply(kind), *replies)
        if kind or sent:
            entries = (emergency_entry(sent or kind), *entries)
        return TurnResult(replies=replies, intent=intent, confidence=confidence,
                          crisis=bool(kind or sent), actions=actions, entries=entries)

    async def _desk_step(self, step) -> tuple[Reply, ...] | None:
        """A desk failure (database down…) costs the user an apology, never an answer."""
        try:
            return await step
        except Exception as error:  # the type only: a database error may quote parameters
            log.error("escalation desk failed: %s", type(error).__name__)
            return (self.render("escalate_no_counselors"),)

    def _reserved(self, action: str) -> TurnResult:
        """Quick exit and /xoa: never relayed, never waiting on Rasa."""
        key = {"quick_exit": "quick_exit_done", "delete_my_data": "data_deleted"}[action]
        return TurnResult(replies=(self.render(key),), intent=action, actions=(action,),
                          entries=(f"message:{key}",))

    def _degraded(self, net: str | None, alarm: Alarm) -> TurnResult:
        net = alarm.sent or net
        if net:
            replies = () if alarm.sent else (self._safety.emergency_reply(net),)
            return TurnResult(replies=replies, intent=net, crisis=True, degraded=True,
                              entries=(emergency_entry(net),))
        return TurnResult(replies=(self.render("degraded"),), degraded=True,
                          entries=("message:degraded",))

    async def _carry_out(self, result: TurnResult, pseudonym: str) -> TurnResult:
        """Wipe what the core holds; the channel then deletes what the platform holds.
        A wipe that did not fully go through is said so, and retried in the background."""
        if "delete_my_data" in result.actions:
            if not await self.wipe.run(pseudonym):
                return replace(result, replies=(self.render("data_delete_failed"),))
        elif "quick_exit" in result.actions:
            await self.exit.run(pseudonym)  # the relay ends; failures are retried
        return result

    def render(self, key: str) -> Reply:
        """Content message ``key`` as a reply, for channel notices (never raises)."""
        try:
            return render(self._content.get(), key)
        except (ContentError, KeyError):
            log.error("message %r unavailable: using the embedded emergency reply", key)
            return EMBEDDED_EMERGENCY
