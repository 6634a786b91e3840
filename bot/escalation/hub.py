"""The escalation's async face: what the user's chat and the counselors' API both call.

It runs the service's database work off the event loop, and sends what each
step owes people: counselors get the case code and risk only, never content;
users get a counselor's words, the news that someone is here, and the
hotlines while they wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from bot.escalation.outbox import Outbox
from bot.escalation.service import EscalationService
from bot.escalation.views import Principal, Ticket
from bot.replies import Reply

log = logging.getLogger(__name__)

RISK_LABELS = {"danger": "KHẨN CẤP – đang gặp nguy hiểm", "self_harm": "KHẨN CẤP – nguy cơ tự hại",
               "high": "cao", "standard": "thông thường"}

Render = Callable[[str], Reply]


def _fill(reply: Reply, **values: Any) -> Reply:
    return Reply(reply.text.format(**values), reply.buttons)


class EscalationHub:
    def __init__(self, service: EscalationService, outbox: Outbox, render: Render):
        self.service = service
        self.outbox = outbox
        self._render = render

    async def run(self, method: Callable, *args: Any, **kwargs: Any) -> Any:
        """A service call on a worker thread (the service is synchronous)."""
        return await asyncio.to_thread(partial(method, *args, **kwargs))

    def message(self, key: str, **values: Any) -> Reply:
        return _fill(self._render(key), **values)

    # ----------------------------------------------------------------- user side

    async def open_case(self, subject: str, address: str, risk: str, body: dict) -> Ticket:
        ticket = await self.run(self.service.cases.open_case, subject, address, risk, body)
        await self.notify_staff("counselor_new_case", code=ticket.code,
                                risk=RISK_LABELS[ticket.risk])
        return ticket

    async def relay_from_user(self, subject: str, text: str) -> bool:
        """True if a counselor holds the user's case and the message went to them."""
        relayed = await self.run(self.service.cases.user_message, subject, text)
        if relayed is None:
            return False
        case, addresses = relayed
        for to in addresses:
            await self.outbox.send(to, self.message("counselor_new_message", code=case.code))
        return True

    async def user_end(self, subject: str) -> list[str]:
        ended = await self.run(self.service.cases.user_end, subject)
        await self._tell_counselors_user_left(ended)
        return [code for code, _ in ended]

    async def shred(self, subject: str) -> None:
        await self._tell_counselors_user_left(await self.run(self.service.retention.shred, subject))

    async def _tell_counselors_user_left(self, ended: list[tuple[str, str | None]]) -> None:
        for code, to in ended:
            if to:
                await self.outbox.send(to, self.message("counselor_user_left", code=code))

    # ----------------------------------------------------------------- counselor side

    async def claim(self, principal: Principal, code: str):
        case, routing = await self.run(self.service.cases.claim, principal, code)
        if routing:
            await self.outbox.send(routing, self.message(
                "escalate_claimed", code=case.code, counselor=principal.display_name))
        return case

    async def counselor_reply(self, principal: Principal, code: str, text: str) -> bool:
        """Store the reply sealed and deliver it; False if the user can no longer be reached."""
        routing = await self.run(self.service.cases.counselor_message, principal, code, text)
        if routing is None:
            return False
        return await self.outbox.send(routing, self.message(
            "escalate_counselor_says", counselor=principal.display_name, text=text))

    async def close(self, principal: Principal, code: str, outcome: str,
                    referred_to: str | None = None) -> None:
        routing = await self.run(self.service.cases.close, principal, code, outcome, referred_to)
        if routing:
            await self.outbox.send(routing, self.message("escalate_closed", code=code.upper()))

    async def notify_staff(self, key: str, roles: tuple[str, ...] = ("counselor", "supervisor"),
                           **values: Any) -> int:
        """Notify staff on their messenger: code and risk only. Returns how many got it."""
        addresses = await self.run(self.service.staff.notify_addresses, roles)
        reply = self.message(key, **values)
        sent = await asyncio.gather(*(self.outbox.send(to, reply) for to in addresses))
        return sum(sent)

    # ----------------------------------------------------------------- timers

    async def tick(self) -> None:
        """Re-notify and escalate waiting cases, tell waiting users, purge old cases."""
        for reminder in await self.run(self.service.cases.due_reminders):
            risk = RISK_LABELS[reminder.risk]
            if reminder.kind == "escalate":
                await self.notify_staff("supervisor_escalation", ("supervisor",),
                                        code=reminder.code, risk=risk,
                                        minutes=round(self.service.policy.escalate_after_min))
                continue
            await self.notify_staff("counselor_still_waiting", code=reminder.code, risk=risk)
            if reminder.routing:
                await self.outbox.send(reminder.routing,
                                       self.message("escalate_still_waiting", code=reminder.code))
        purged = await self.run(self.service.retention.purge)
        if purged:
            log.info("retention: purged %d cases", purged)

    async def run_timers(self, every_s: float = 20.0) -> None:
        """Until cancelled; a failing tick is logged and retried on the next one."""
        while True:
            try:
                await self.tick()
            except Exception as error:  # the type only: a database error may quote parameters
                log.error("escalation timers failed (%s); retrying", type(error).__name__)
            await asyncio.sleep(every_s)
