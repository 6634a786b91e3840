"""Cases: opening one sealed to every approved reader, the risk-ordered queue, exclusive
claims, the sealed relay both ways, closing with an outcome, and the waiting-case timers.

Case content is sealed here to readers' public keys and opened only on their devices.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import uuid
from collections.abc import Callable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.escalation import crypto
from bot.escalation.audit import AuditLog
from bot.escalation.crypto import SealContext
from bot.escalation.errors import Conflict, EscalationError, Forbidden, NoCounselors, NotFound
from bot.escalation.policy import OUTCOMES, RISK_RANK, EscalationPolicy
from bot.escalation.staff import CODE_ALPHABET, StaffDirectory
from bot.escalation.tables import Case, CaseItem, Staff
from bot.escalation.vault import SubjectVault
from bot.escalation.views import (
    CaseView,
    Principal,
    Reminder,
    Ticket,
    case_view,
    require_reader,
)
from bot.storage import Database

OPEN_STATES = ("queued", "claimed")
_SLUG = re.compile(r"^[a-z0-9_]{1,64}$")
_MAX_TEXT = 4000


class CaseBook:
    def __init__(self, database: Database, staff: StaffDirectory, vault: SubjectVault,
                 policy: EscalationPolicy, audit: AuditLog, clock: Callable[[], dt.datetime]):
        self._db = database
        self._staff = staff
        self._vault = vault
        self.policy = policy
        self._audit = audit
        self._clock = clock

    # ----------------------------------------------------------------- opening a case

    def open_case(self, subject: str, routing: str, risk: str, body: dict) -> Ticket:
        """Seal the case to every approved counselor and queue it."""
        if risk not in RISK_RANK:
            raise EscalationError(f"unknown risk {risk!r}")
        recipients = self._staff.recipients()
        if not recipients:
            raise NoCounselors("no approved counselor can receive a case")
        case_id, now = uuid.uuid4().hex, self._clock()
        sealed = crypto.seal(json.dumps(body, ensure_ascii=False).encode(), recipients,
                             SealContext(case_id, 0, "case"))
        with self._db.session() as session, session.begin():
            code = self._new_code(session)
            session.add(Case(id=case_id, code=code, risk=risk, risk_rank=RISK_RANK[risk],
                             status="queued", subject=subject, created_at=now,
                             routing=self._vault.seal(session, subject, f"routing:{case_id}",
                                                    routing),
                             recipients="\n".join(sorted(r.key_id for r in recipients)),
                             notified_at=now, notify_count=1, next_item=1))
            session.add(CaseItem(case_id=case_id, item=0, direction="case",
                                 sealed=json.dumps(sealed), created_at=now))
            self._audit.record(session, "user", "open", code, risk)
            position = self._position(session, RISK_RANK[risk], now)
        wait = round(position * self.policy.minutes_per_case)
        return Ticket(case_id, code, risk, position, wait)

    def _new_code(self, session: Session) -> str:
        while True:
            code = "AT-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(5))
            if session.scalar(select(Case.id).where(Case.code == code)) is None:
                return code

    def _position(self, session: Session, rank: int, created: dt.datetime) -> int:
        ahead = session.scalar(select(func.count()).select_from(Case).where(
            Case.status == "queued",
            (Case.risk_rank < rank) | ((Case.risk_rank == rank) & (Case.created_at < created))))
        return (ahead or 0) + 1

    # ----------------------------------------------------------------- the queue

    def queue(self, principal: Principal) -> list[CaseView]:
        """Open cases, most urgent first, then oldest: queued ones and those the reader holds
        (a supervisor sees every open case)."""
        require_reader(principal)
        with self._db.session() as session:
            query = select(Case).where(Case.status.in_(OPEN_STATES + ("ended",)))
            if principal.role != "supervisor":
                query = query.where((Case.status == "queued")
                                    | (Case.claimed_by == principal.staff_id))
            cases = session.scalars(query.order_by(Case.risk_rank, Case.created_at)).all()
            return [case_view(c, self._staff.names(session)) for c in cases]

    def claim(self, principal: Principal, code: str) -> tuple[CaseView, str | None]:
        """Exclusive: one conditional UPDATE, so of two simultaneous claims exactly one wins.
        Returns the case and the user's routing (to tell them a counselor is here)."""
        require_reader(principal)
        with self._db.session() as session, session.begin():
            case = self._case(session, code)
            if principal.key_id not in case.recipients.split("\n"):
                raise Forbidden("this case was not encrypted to your key")
            won = session.execute(update(Case).where(Case.id == case.id,
                                                     Case.status == "queued")
                                  .values(status="claimed", claimed_by=principal.staff_id,
                                          claimed_at=self._clock())).rowcount
            if won != 1:
                raise Conflict(f"case {code} is no longer waiting")
            self._audit.record(session, principal.staff_id, "claim", code)
        with self._db.session() as session, session.begin():
            case = self._case(session, code)
            return case_view(case, self._staff.names(session)), self._routing(session, case)

    def read(self, principal: Principal, code: str) -> dict:
        """The sealed case and messages, with each recipient's approval so the client can
        verify the recipient list itself before opening anything."""
        require_reader(principal)
        with self._db.session() as session, session.begin():
            case = self._held_case(session, principal, code, states=None)
            items = session.scalars(select(CaseItem).where(CaseItem.case_id == case.id)
                                    .order_by(CaseItem.item)).all()
            key_ids = case.recipients.split("\n")
            directory = {d["key_id"]: d for d in self._staff.key_docs(session, key_ids)}
            self._audit.record(session, principal.staff_id, "read", code)
            return {"case": case_view(case, self._staff.names(session)).as_json(),
                    "case_id": case.id,
                    "recipients": [directory.get(k, {"key_id": k}) for k in key_ids],
                    "items": [{"item": i.item, "direction": i.direction,
                               "sealed": json.loads(i.sealed),
                               "at": i.created_at.isoformat() + "Z"} for i in items]}

    # ----------------------------------------------------------------- relay

    def active_case(self, subject: str) -> CaseView | None:
        with self._db.session() as session:
            case = session.scalars(select(Case).where(Case.subject == subject,
                                                      Case.status.in_(OPEN_STATES))
                                   .order_by(Case.created_at.desc())).first()
            return case_view(case, self._staff.names(session)) if case else None

    def open_subjects(self) -> list[str]:
        """Subjects with a queued or claimed case (the desk's relay index)."""
        with self._db.session() as session:
            return list(session.scalars(select(Case.subject).distinct().where(
                Case.status.in_(OPEN_STATES), Case.subject.is_not(None))))

    def user_message(self, subject: str, text: str) -> tuple[CaseView, list[str]] | None:
        """Store the user's message sealed to the case's readers, if a counselor holds their
        case. Returns the case and where to notify its counselor."""
        with self._db.session() as session, session.begin():
            case = session.scalars(select(Case).where(Case.subject == subject,
                                                      Case.status == "claimed")).first()
            if case is None:
                return None
            self._add_item(session, case, "user", text)
            counselor = session.get(Staff, case.claimed_by)
            address = self._staff.notify_address(session, counselor)
            return case_view(case, self._staff.names(session)), [address] if address else []

    def counselor_message(self, principal: Principal, code: str, text: str) -> str | None:
        """Seal and store a counselor's message; returns where to deliver it (None if the
        user has wiped their data or ended the conversation)."""
        require_reader(principal)
        if not text.strip() or len(text) > _MAX_TEXT:
            raise EscalationError(f"a message needs 1–{_MAX_TEXT} characters")
        with self._db.session() as session, session.begin():
            case = self._held_case(session, principal, code, states=("claimed",))
            self._add_item(session, case, "counselor", text)
            self._audit.record(session, principal.staff_id, "reply", code)
            return self._routing(session, case)

    def _add_item(self, session: Session, case: Case, direction: str, text: str) -> None:
        """Sealed to the case's readers still active: a removed counselor reads nothing new."""
        active = {r.key_id: r for r in self._staff.recipients()}
        readers = [active[k] for k in case.recipients.split("\n") if k in active]
        if not readers:
            raise NoCounselors("no reader of this case is still active")
        item = case.next_item
        case.next_item = item + 1
        sealed = crypto.seal(text.encode(), readers, SealContext(case.id, item, direction))
        session.add(CaseItem(case_id=case.id, item=item, direction=direction,
                             sealed=json.dumps(sealed), created_at=self._clock()))

    def close(self, principal: Principal, code: str, outcome: str,
              referred_to: str | None = None) -> str | None:
        """Record the outcome (fixed list) and end the relay; returns the user's routing."""
        require_reader(principal)
        if outcome not in OUTCOMES:
            raise EscalationError(f"outcome must be one of {', '.join(OUTCOMES)}")
        if (outcome == "referred") != bool(referred_to) or (
                referred_to and not _SLUG.match(referred_to)):
            raise EscalationError("'referred' needs referred_to (a contact id); others none")
        with self._db.session() as session, session.begin():
            case = self._held_case(session, principal, code, states=("claimed", "ended"))
            routing = self._routing(session, case) if case.status == "claimed" else None
            case.status, case.outcome, case.referred_to = "closed", outcome, referred_to
            case.closed_at = self._clock()
            self._audit.record(session, principal.staff_id, "close", code, outcome)
            return routing

    def user_end(self, subject: str) -> list[tuple[str, str | None]]:
        """The user cancels or leaves: a waiting case is cancelled, a held one ends (its
        counselor still records the outcome). Returns (code, counselor's notify address)."""
        ended = []
        with self._db.session() as session, session.begin():
            for case in session.scalars(select(Case).where(Case.subject == subject,
                                                           Case.status.in_(OPEN_STATES))):
                address = None
                if case.status == "claimed":
                    counselor = session.get(Staff, case.claimed_by)
                    address = self._staff.notify_address(session, counselor)
                    case.status = "ended"
                else:
                    case.status, case.closed_at = "cancelled", self._clock()
                self._audit.record(session, "user", "end", case.code)
                ended.append((case.code, address))
        return ended

    # ----------------------------------------------------------------- timers

    def due_reminders(self) -> list[Reminder]:
        """Cases waiting too long: counselors are notified again every N minutes, and the
        supervisors once after M minutes. Marks them so each fires once."""
        now, reminders = self._clock(), []
        renotify = dt.timedelta(minutes=self.policy.renotify_after_min)
        escalate = dt.timedelta(minutes=self.policy.escalate_after_min)
        with self._db.session() as session, session.begin():
            for case in session.scalars(select(Case).where(Case.status == "queued")
                                        .order_by(Case.risk_rank, Case.created_at)):
                if case.escalated_at is None and now - case.created_at >= escalate:
                    case.escalated_at = now
                    reminders.append(Reminder(case.code, case.risk, "escalate", None))
                    self._audit.record(session, "system", "escalate", case.code)
                if now - (case.notified_at or case.created_at) >= renotify:
                    case.notified_at, case.notify_count = now, case.notify_count + 1
                    reminders.append(Reminder(case.code, case.risk, "renotify",
                                              self._routing(session, case)))
        return reminders

    # ----------------------------------------------------------------- helpers

    def _case(self, session: Session, code: str) -> Case:
        case = session.scalar(select(Case).where(Case.code == (code or "").upper()))
        if case is None:
            raise NotFound(f"no case {code}")
        return case

    def _held_case(self, session: Session, principal: Principal, code: str,
                   states: tuple[str, ...] | None) -> Case:
        case = self._case(session, code)
        if case.claimed_by != principal.staff_id and principal.role != "supervisor":
            raise Forbidden(f"you do not hold case {case.code}")
        if states is not None and case.status not in states:
            raise Conflict(f"case {case.code} is {case.status}")
        return case

    def _routing(self, session: Session, case: Case) -> str | None:
        return self._vault.open(session, case.subject, f"routing:{case.id}", case.routing)
