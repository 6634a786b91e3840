"""The user's side of asking for a counselor, inside the chat.

Intake: what to share (the conversation so far, a note, or nothing), how to be
reached (this chat, or a call-back number and a safe time window), a summary
to confirm, and cancel at every step. The summary also says how the counselor's
messages will arrive (discreet by default: a neutral notice, the text on "Xem")
and whether to remind them while they wait (once, silently, by default); either
can be changed there. Then the queue, and once a counselor holds the case, a
live relay. Intake answers are kept for 30 minutes at most (bot/escalation/desk_memory.py:
in memory, or sealed in the database when several bot workers share the work) and go
nowhere but into the case sealed to the counselors; they never reach Rasa or the logs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

from bot.escalation.desk_memory import (
    ACK_EVERY_S,
    DeskMemory,
    Intake,
    UserDesk,
)
from bot.escalation.errors import NoCounselors
from bot.escalation.hub import EscalationHub
from bot.escalation.policy import RISK_RANK
from bot.replies import Reply

PREFIX = "/counselor_"
OPEN_RELOAD_S = 60
MAX_NOTE = 2000
_PHONE = re.compile(r"^(?:\+?84|0)(\d{9})$")
CRISIS_RISK = {"danger_now": "danger", "self_harm": "self_harm"}
# Intents after which a request deserves more than standard priority.
HIGH_RISK_INTENTS = frozenset({"report_domestic_violence", "report_sexual_violence",
                               "report_workplace_harassment", "report_online_abuse",
                               "feeling_distress"})
WINDOWS = ("morning", "afternoon", "evening", "any")

Transcript = Callable[[str], Awaitable[list[dict]]]


def subject_of(pseudonym: str) -> str:
    return f"user:{pseudonym}"


def normalise_phone(text: str) -> str | None:
    digits = re.sub(r"[\s.\-()]", "", text)
    match = _PHONE.match(digits)
    return f"0{match.group(1)}" if match else None


class CounselorDesk:
    def __init__(self, hub: EscalationHub, transcript: Transcript,
                 memory: DeskMemory | None = None):
        self.hub = hub
        self._transcript = transcript
        self._memory = memory or DeskMemory()
        self._open: set[str] = set()  # subjects with a queued or claimed case
        self._open_loaded_at = float("-inf")
        self._open_changes = -1  # the event count it was loaded at

    # ----------------------------------------------------------------- what the core calls

    async def note_turn(self, pseudonym: str, intent: str | None, crisis: str | None) -> None:
        """Remember the highest risk seen lately, so a request made later is ranked right."""
        risk = CRISIS_RISK.get(crisis or "") or ("high" if intent in HIGH_RISK_INTENTS else None)
        if risk is None:
            return
        desk = await self._memory.get(pseudonym)
        if _rank(risk) <= _rank(desk.risk):
            desk.risk, desk.risk_at = risk, self._memory.clock()
            await self._memory.put(pseudonym, desk)

    async def start(self, pseudonym: str) -> tuple[Reply, ...]:
        """The user asked for a person: begin the intake, unless a case is already open."""
        case = await self.hub.run(self.hub.service.cases.active_case, subject_of(pseudonym))
        if case is not None:
            return (self.hub.message("escalate_already_open", code=case.code),)
        desk = await self._memory.get(pseudonym)
        desk.intake = Intake(risk=desk.risk, started=self._memory.clock())
        await self._memory.put(pseudonym, desk)
        return (self.hub.message("escalate_intro"),)

    async def handle(self, pseudonym: str, address: str, text: str) -> tuple[Reply, ...] | None:
        """Replies if the desk owns this message (intake step, relay), else None."""
        if text.startswith(PREFIX):
            return await self._on_button(pseudonym, address, text[len(PREFIX):])
        desk = await self._memory.get(pseudonym)
        if desk.intake is not None and desk.intake.step in ("note", "phone"):
            replies = self._on_typed(desk.intake, text)
            await self._memory.put(pseudonym, desk)
            return replies
        if await self._relay(pseudonym, text):
            return await self._ack(pseudonym, desk)
        return None

    async def _relay(self, pseudonym: str, text: str) -> bool:
        """Relay to the counselor holding the user's case. Most users have no open case, so
        the desk keeps the set of subjects that do and asks the database only for them;
        cases are opened only through the desk, and the set is reloaded every minute in
        case another process opened one."""
        subject = subject_of(pseudonym)
        if subject not in await self._open_subjects():
            return False
        if await self.hub.relay_from_user(subject, text):
            return True
        if await self.hub.run(self.hub.service.cases.active_case, subject) is None:
            self._open.discard(subject)
        return False

    async def _open_subjects(self) -> set[str]:
        """Reloaded when a case changed anywhere (events reach every process) and at least
        every minute in case a signal was lost."""
        now, changes = time.monotonic(), self.hub.events.changes
        if now - self._open_loaded_at >= OPEN_RELOAD_S or changes != self._open_changes:
            self._open = set(await self.hub.run(self.hub.service.cases.open_subjects))
            self._open_loaded_at, self._open_changes = now, changes
        return self._open

    async def leave(self, pseudonym: str) -> None:
        """Quick exit: nothing of this may reappear in the chat, so the relay ends too, and
        the desk forgets what it remembered of the conversation."""
        await self._memory.drop(pseudonym)
        await self.hub.leave(subject_of(pseudonym))

    async def forget(self, pseudonym: str) -> None:
        """/xoa: crypto-shred the user's escalation data."""
        await self._memory.drop(pseudonym)
        await self.hub.shred(subject_of(pseudonym))

    # ----------------------------------------------------------------- buttons

    async def _on_button(self, pseudonym: str, address: str, choice: str) -> tuple[Reply, ...]:
        if choice == "start":
            return await self.start(pseudonym)
        if choice == "end":  # ending a live chat takes a confirmed choice, never one tap
            return (self.hub.message("escalate_end_confirm"),)
        if choice == "continue":
            return (self.hub.message("escalate_continue"),)
        if choice in ("cancel", "end_confirm"):
            return await self._cancel(pseudonym, ended=choice == "end_confirm")
        if choice == "show":  # discreet delivery: the user asked to see what is held
            held = await self.hub.take_held(subject_of(pseudonym))
            return tuple(held) or (self.hub.message("escalate_nothing_held"),)
        desk = await self._memory.get(pseudonym)
        if desk.intake is None:  # an old button after a restart or a finished intake
            return await self.start(pseudonym)
        if choice == "confirm" and desk.intake.step == "confirm":
            return await self._confirm(pseudonym, address, desk)
        replies = self._on_intake_button(desk.intake, choice)
        await self._memory.put(pseudonym, desk)
        return replies

    def _on_intake_button(self, intake: Intake, choice: str) -> tuple[Reply, ...]:
        if choice.startswith("share_"):
            return self._on_share(intake, choice.removeprefix("share_"))
        if choice.startswith("contact_"):
            return self._on_contact(intake, choice.removeprefix("contact_"))
        if choice.startswith("window_") and intake.step == "window":
            return self._on_window(intake, choice.removeprefix("window_"))
        if choice == "toggle_discreet" and intake.step == "confirm":
            intake.discreet = not intake.discreet
        if choice == "toggle_remind" and intake.step == "confirm":
            intake.reminders = 0 if intake.reminders else 1
        return (self._prompt_for(intake),)

    def _on_share(self, intake: Intake, what: str) -> tuple[Reply, ...]:
        if what not in ("transcript", "note", "nothing"):
            return (self._prompt_for(intake),)
        intake.share, intake.note = what, None
        intake.step = "note" if what == "note" else "contact"
        return (self._prompt_for(intake),)

    def _on_contact(self, intake: Intake, method: str) -> tuple[Reply, ...]:
        if method not in ("chat", "call") or intake.share is None:
            return (self._prompt_for(intake),)
        intake.method = method
        intake.phone = intake.window = None
        intake.step = "phone" if method == "call" else "confirm"
        return (self._prompt_for(intake),)

    def _on_window(self, intake: Intake, window: str) -> tuple[Reply, ...]:
        if window in WINDOWS:
            intake.window, intake.step = window, "confirm"
        return (self._prompt_for(intake),)

    def _on_typed(self, intake: Intake, text: str) -> tuple[Reply, ...]:
        if intake.step == "note":
            intake.note, intake.step = text[:MAX_NOTE], "contact"
            return (self._prompt_for(intake),)
        phone = normalise_phone(text)
        if phone is None:
            return (self.hub.message("escalate_phone_invalid"),)
        intake.phone, intake.step = phone, "window"
        return (self._prompt_for(intake),)

    def _prompt_for(self, intake: Intake) -> Reply:
        if intake.step == "confirm":
            return self.hub.message("escalate_confirm", summary=self._summary(intake))
        key = {"share": "escalate_intro", "note": "escalate_note_prompt",
               "contact": "escalate_contact", "phone": "escalate_phone_prompt",
               "window": "escalate_window"}[intake.step]
        return self.hub.message(key)

    def _summary(self, intake: Intake) -> str:
        lines = [self.hub.message(f"escalate_sum_share_{intake.share}").text]
        if intake.method == "call":
            lines.append(self.hub.message("escalate_sum_call", phone_end=intake.phone[-3:],
                                          window=self._window_label(intake.window)).text)
        else:
            lines.append(self.hub.message("escalate_sum_chat").text)
        lines.append(self.hub.message("escalate_sum_discreet_on" if intake.discreet
                                      else "escalate_sum_discreet_off").text)
        lines.append(self.hub.message("escalate_sum_remind_on" if intake.reminders
                                      else "escalate_sum_remind_off").text)
        return "\n".join(lines)

    def _window_label(self, window: str | None) -> str:
        payload = f"{PREFIX}window_{window}"
        titles = {b.payload: b.title for b in self.hub.message("escalate_window").buttons}
        return titles.get(payload, window or "")

    # ----------------------------------------------------------------- sending the request

    async def _confirm(self, pseudonym: str, address: str, desk: UserDesk) -> tuple[Reply, ...]:
        intake = desk.intake
        body = {"share": intake.share, "note": intake.note, "risk": intake.risk,
                "channel": address.partition(":")[0],
                "transcript": await self._transcript(pseudonym)
                if intake.share == "transcript" else [],
                "contact": {"method": "callback" if intake.method == "call" else "chat",
                            "phone": intake.phone,
                            "window": self._window_label(intake.window) if intake.window
                            else None}}
        desk.intake = None
        await self._memory.put(pseudonym, desk)
        try:
            ticket = await self.hub.open_case(subject_of(pseudonym), address, intake.risk, body,
                                              intake.discreet, intake.reminders)
        except NoCounselors:
            return (self.hub.message("escalate_no_counselors"),)
        self._open.add(subject_of(pseudonym))
        return (self.hub.message("escalate_queued", code=ticket.code, position=ticket.position,
                                 wait=max(ticket.expected_wait_min, 1)),)

    async def _cancel(self, pseudonym: str, ended: bool) -> tuple[Reply, ...]:
        desk = await self._memory.get(pseudonym)
        if desk.intake is not None:
            desk.intake = None
            await self._memory.put(pseudonym, desk)
        codes = await self.hub.user_end(subject_of(pseudonym))
        return (self.hub.message("escalate_ended" if ended and codes else "escalate_cancelled"),)

    # ----------------------------------------------------------------- helpers

    async def _ack(self, pseudonym: str, desk: UserDesk) -> tuple[Reply, ...]:
        """A short receipt now and then; one per message would drown the conversation."""
        now = self._memory.clock()
        if now - desk.acked_at < ACK_EVERY_S:
            return ()
        desk.acked_at = now
        await self._memory.put(pseudonym, desk)
        return (self.hub.message("escalate_relayed"),)


def _rank(risk: str) -> int:
    return RISK_RANK[risk]
