"""Passing a case on: a counselor hands it to a named colleague or back to the queue, and a
supervisor can take it over. What was said before is re-shared by the holder's device to
the new holder's keys (the server cannot: it holds no key that opens anything); from then
on new items are sealed to the new holder."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.escalation.audit import AuditLog
from bot.escalation.cases import CaseBook
from bot.escalation.errors import Conflict, EscalationError, Forbidden, NotFound
from bot.escalation.notes import CaseNotes
from bot.escalation.policy import READER_ROLES
from bot.escalation.staff import StaffDirectory
from bot.escalation.tables import Case, Staff
from bot.escalation.views import CaseView, Principal, case_view, require_reader
from bot.storage import Database


@dataclass(frozen=True)
class Moved:
    """A case that changed hands: who had it, who has it now, where to notify them."""

    case: CaseView
    previous: str | None
    holder: str | None
    notify: str | None  # whom to tell: the new holder (handover), the previous (takeover)


class Handovers:
    def __init__(self, database: Database, cases: CaseBook, staff: StaffDirectory,
                 notes: CaseNotes, audit: AuditLog, clock: Callable[[], dt.datetime]):
        self._db = database
        self._cases = cases
        self._notes = notes
        self._staff = staff
        self._audit = audit
        self._clock = clock

    def hand_over(self, principal: Principal, code: str, to: str | None,
                  shares: Iterable[dict], note: dict | None = None) -> Moved:
        """To a colleague (with the re-shared items and, if given, a note sealed on the
        holder's device for them) or, with ``to`` None, back to the queue."""
        require_reader(principal)
        with self._db.session() as session, session.begin():
            case = self._cases.held_case(session, principal, code, states=("claimed",))
            previous = case.claimed_by
            if to is None:
                case.status, case.claimed_by, case.claimed_at = "queued", None, None
                case.notified_at = self._clock()
                notify = None
            else:
                target = self._colleague(session, to, previous)
                keys = {k.key_id for k in self._staff.readers(session, [target.id])}
                self._cases.store_shares(session, case, shares, keys)
                case.claimed_by, case.claimed_at = target.id, self._clock()
                notify = self._staff.notify_address(session, target)
            if note is not None:  # checked against the new holder's and supervisors' keys
                self._notes.store(session, principal, case, note.get("note_id"),
                                  note.get("sealed"))
            self._audit.record(session, principal.staff_id, "handover", case.code,
                               to or "queue")
            return Moved(self._view(session, case), previous, case.claimed_by, notify)

    def take_over(self, principal: Principal, code: str) -> Moved:
        """A supervisor takes a case someone holds (they read every case's new items)."""
        if principal.role != "supervisor":
            raise Forbidden("only a supervisor takes a case over")
        with self._db.session() as session, session.begin():
            case = self._cases.held_case(session, principal, code, states=("claimed",))
            previous = case.claimed_by
            if previous == principal.staff_id:
                raise Conflict(f"you already hold case {case.code}")
            case.claimed_by, case.claimed_at = principal.staff_id, self._clock()
            self._audit.record(session, principal.staff_id, "takeover", case.code)
            holder = session.get(Staff, previous) if previous else None
            notify = self._staff.notify_address(session, holder) if holder else None
            return Moved(self._view(session, case), previous, principal.staff_id, notify)

    def _colleague(self, session: Session, staff_id: str, previous: str | None) -> Staff:
        target = session.get(Staff, staff_id)
        if target is None:
            raise NotFound("no such colleague")
        if target.status != "active" or target.role not in READER_ROLES:
            raise EscalationError("a case can go only to an active counselor or supervisor")
        if target.id == previous:
            raise Conflict("this colleague already holds the case")
        if not self._staff.readers(session, [target.id]):
            raise EscalationError("this colleague has no approved key yet")
        return target

    def _view(self, session: Session, case: Case) -> CaseView:
        return case_view(case, self._staff.names(session))
