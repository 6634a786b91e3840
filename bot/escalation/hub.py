"""The escalation's async face: what the user's chat and the counselors' API both call.

It runs the service's database work off the event loop, and sends what each step owes
people: counselors get the case code and risk only, never content; users get a
counselor's words, the news that someone is here, and the hotlines while they wait.
Everything sent to a user outside their turn offers the quick exit (the content check
insists), and for a user who chose discreet delivery it is held, with only a neutral
"new message" notice on the lock screen until they tap "Xem".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from functools import partial
from typing import Any

from bot.escalation.desk_memory import DeskMemory
from bot.escalation.events import Event, EventBus
from bot.escalation.outbox import Outbox
from bot.escalation.service import EscalationService
from bot.escalation.views import CaseView, Principal, Ticket, UserRoute
from bot.escalation.wrapup import WrapUp
from bot.replies import Reply
from bot.storage.notify import LocalNotifier
from common.content import ContentStore

log = logging.getLogger(__name__)

RISK_LABELS = {"danger": "KHẨN CẤP – đang gặp nguy hiểm", "self_harm": "KHẨN CẤP – nguy cơ tự hại",
               "high": "cao", "standard": "thông thường"}
# Who the user is talking to when the counselor chose no alias (older accounts).
NO_ALIAS = "của An Tâm"

Render = Callable[[str], Reply]


def _fill(reply: Reply, **values: Any) -> Reply:
    return Reply(reply.text.format(**values), reply.buttons)


class EscalationHub:
    def __init__(self, service: EscalationService, outbox: Outbox, render: Render,
                 content: ContentStore | None = None, events: EventBus | None = None):
        self.service = service
        self.outbox = outbox
        self._render = render
        self.content = content  # canned replies and the referral directory, for staff
        self.events = events or EventBus()  # what changed, for open workspaces: never content
        self.signals: LocalNotifier = LocalNotifier()  # between processes (bot/app.py sets it)
        # What the desk remembers of users between messages; shared when workers are.
        self.desk_memory = DeskMemory()

    async def run(self, method: Callable, *args: Any, **kwargs: Any) -> Any:
        """A service call on a worker thread (the service is synchronous)."""
        return await asyncio.to_thread(partial(method, *args, **kwargs))

    def message(self, key: str, **values: Any) -> Reply:
        return _fill(self._render(key), **values)

    # ----------------------------------------------------------------- user side

    async def open_case(self, subject: str, address: str, risk: str, body: dict,
                        discreet: bool = True, reminders: int = 1) -> Ticket:
        ticket = await self.run(self.service.cases.open_case, subject, address, risk, body,
                                discreet, reminders)
        self.events.publish(Event("queue", ticket.code, "opened"))
        await self.notify_staff("counselor_new_case", code=ticket.code,
                                risk=RISK_LABELS[ticket.risk])
        return ticket

    async def relay_from_user(self, subject: str, text: str) -> bool:
        """True if a counselor holds the user's case and the message went to them."""
        relayed = await self.run(self.service.cases.user_message, subject, text)
        if relayed is None:
            return False
        case, addresses = relayed
        self.events.publish(Event("case", case.code, "message", case.holder))
        for to in addresses:
            await self.outbox.send(to, self.message("counselor_new_message", code=case.code))
        return True

    async def user_end(self, subject: str) -> list[str]:
        ended = await self.run(self.service.cases.user_end, subject)
        await self._tell_counselors_user_left(ended)
        return [code for code, _, _ in ended]

    async def leave(self, subject: str) -> None:
        """Quick exit: the relay ends and nothing held for the user may reappear."""
        await self.user_end(subject)
        await self.run(self.service.held.drop, subject)

    async def shred(self, subject: str) -> None:
        await self._tell_counselors_user_left(await self.run(self.service.retention.shred,
                                                             subject))

    async def take_held(self, subject: str) -> list[Reply]:
        """What was held for a discreet user, now that they asked to see it."""
        return await self.run(self.service.held.take, subject)

    async def _tell_counselors_user_left(
            self, ended: list[tuple[str, str | None, str | None]]) -> None:
        for code, to, holder in ended:
            self.events.publish(Event("queue", code, "left"),
                                Event("case", code, "left", holder))
            if to:
                await self.outbox.send(to, self.message("counselor_user_left", code=code))

    async def _to_user(self, route: UserRoute, reply: Reply, silent: bool = False) -> bool:
        """Deliver outside the user's turn: held behind a neutral notice if they chose
        discreet delivery, the text itself otherwise."""
        if route.discreet:
            await self.run(self.service.held.hold, route.subject, reply)
            reply = self.message("escalate_discreet_notice")
        return await self.outbox.send(route.address, reply, silent=silent)

    # ----------------------------------------------------------------- counselor side

    async def claim(self, principal: Principal, code: str) -> CaseView:
        case, route = await self.run(self.service.cases.claim, principal, code)
        self.events.publish(Event("queue", case.code, "claimed"),
                            Event("case", case.code, "claimed", principal.staff_id))
        if route:
            await self._to_user(route, self.message(
                "escalate_claimed", code=case.code, counselor=await self._alias(code)))
        return case

    async def counselor_reply(self, principal: Principal, code: str, text: str) -> bool:
        """Store the reply sealed and deliver it; False if the user can no longer be reached."""
        route = await self.run(self.service.cases.counselor_message, principal, code, text)
        self.events.publish(Event("case", code.upper(), "message", principal.staff_id))
        if route is None:
            return False
        return await self._to_user(route, self.message(
            "escalate_counselor_says", counselor=await self._alias(code), text=text))

    async def close(self, principal: Principal, code: str, wrapup: WrapUp) -> None:
        route = await self.run(self.service.cases.close, principal, code, wrapup)
        self.events.publish(Event("queue", code.upper(), "closed"),
                            Event("case", code.upper(), "closed", principal.staff_id))
        if route:
            await self._to_user(route, self.message("escalate_closed", code=code.upper()))

    async def remove_staff(self, actor: Principal, staff_id: str,
                           revocations: Iterable[dict]) -> None:
        """Remove a person (with the admin's signed revocations); their open cases go back
        to the queue, and their users and the other counselors are told."""
        await self.run(self.service.staff.remove, actor, staff_id, list(revocations))
        self.events.publish(Event("staff", None, "removed", staff_id))
        await self._requeue(staff_id)

    async def hand_over(self, principal: Principal, code: str, to: str | None,
                        shares: list[dict], note: dict | None = None) -> CaseView:
        """To a colleague (who is notified: code only) or back to the queue."""
        moved = await self.run(self.service.handovers.hand_over, principal, code, to, shares,
                               note)
        self._moved(moved, "handover")
        if moved.notify:
            await self.outbox.send(moved.notify, self.message(
                "counselor_handed_over", code=moved.case.code))
        if to is None:
            await self.notify_staff("counselor_new_case", code=moved.case.code,
                                    risk="đưa lại hàng chờ")
        return moved.case

    async def take_over(self, principal: Principal, code: str) -> CaseView:
        moved = await self.run(self.service.handovers.take_over, principal, code)
        self._moved(moved, "takeover")
        if moved.notify:
            await self.outbox.send(moved.notify, self.message(
                "counselor_taken_over", code=moved.case.code))
        return moved.case

    def _moved(self, moved, what: str) -> None:
        self.events.publish(Event("queue", moved.case.code, what),
                            Event("case", moved.case.code, what, moved.holder, moved.previous))

    async def add_note(self, principal: Principal, code: str, note_id: int,
                       sealed: dict) -> None:
        await self.run(self.service.notes.add, principal, code, note_id, sealed)
        holder = await self.run(self.service.cases.holder_of, code)
        self.events.publish(Event("case", code.upper(), "note", holder, principal.staff_id))

    async def _requeue(self, staff_id: str) -> None:
        for code, route in await self.run(self.service.cases.release, staff_id):
            self.events.publish(Event("queue", code, "released"),
                                Event("case", code, "released", None, staff_id))
            if route:
                await self._to_user(route, self.message("escalate_requeued", code=code))
            await self.notify_staff("counselor_new_case", code=code, risk="đưa lại hàng chờ")

    async def _alias(self, code: str) -> str:
        return await self.run(self.service.cases.holder_alias, code) or NO_ALIAS

    async def notify_staff(self, key: str, roles: tuple[str, ...] = ("counselor", "supervisor"),
                           **values: Any) -> int:
        """Notify staff on their messenger: code and risk only. Returns how many got it."""
        addresses = await self.run(self.service.staff.notify_addresses, roles)
        reply = self.message(key, **values)
        sent = await asyncio.gather(*(self.outbox.send(to, reply) for to in addresses))
        return sum(sent)

    # ----------------------------------------------------------------- timers

    async def tick(self) -> None:
        """Re-notify and escalate waiting cases, tell waiting users (silently, as often as
        they chose), purge old cases."""
        for reminder in await self.run(self.service.cases.due_reminders):
            risk = RISK_LABELS[reminder.risk]
            if reminder.kind == "escalate":
                await self.notify_staff("supervisor_escalation", ("supervisor",),
                                        code=reminder.code, risk=risk,
                                        minutes=round(self.service.policy.escalate_after_min))
                continue
            await self.notify_staff("counselor_still_waiting", code=reminder.code, risk=risk)
            if reminder.route:
                await self._to_user(reminder.route, self.message(
                    "escalate_still_waiting", code=reminder.code), silent=True)
        purged = await self.run(self.service.retention.purge)
        if purged:
            log.info("retention: purged %d cases", purged)

    def background(self, timers: bool, deliver: bool) -> dict[str, Coroutine]:
        """What this process runs beside its requests: signals between processes, other
        processes' events for its pages, the escalation timers (one process: the API), and
        the outbox (processes that serve a messenger channel)."""
        work: dict[str, Coroutine] = {"signals": self.signals.run(),
                                      "live events": self.events.run()}
        if timers:
            work["escalation timers"] = self.run_timers()
        if deliver:
            work["outbox"] = self.outbox.run()
        return work

    async def run_timers(self, every_s: float = 20.0) -> None:
        """Until cancelled; a failing tick is logged and retried on the next one."""
        while True:
            try:
                await self.tick()
            except Exception as error:  # the type only: a database error may quote parameters
                log.error("escalation timers failed (%s); retrying", type(error).__name__)
            await asyncio.sleep(every_s)
