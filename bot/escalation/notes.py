"""Private notes on a case: sealed and signed on the author's device, readable by the
case's staff only, and never shown to the user. The server checks who signed and who can
read before it stores one; it cannot read, forge or widen a note."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError

from bot.escalation import crypto
from bot.escalation.audit import AuditLog
from bot.escalation.cases import CaseBook
from bot.escalation.crypto import CryptoError, SealContext
from bot.escalation.errors import Conflict, EscalationError, Forbidden
from bot.escalation.staff import StaffDirectory
from bot.escalation.tables import CaseNote, StaffKey
from bot.escalation.views import Principal, require_reader
from bot.storage import Database

MAX_NOTE_ID = 2**53 - 1  # what a JavaScript number holds exactly
MAX_SEALED = 40_000


class CaseNotes:
    def __init__(self, database: Database, cases: CaseBook, staff: StaffDirectory,
                 audit: AuditLog, clock: Callable[[], dt.datetime]):
        self._db = database
        self._cases = cases
        self._staff = staff
        self._audit = audit
        self._clock = clock

    def add(self, principal: Principal, code: str, note_id: int, sealed: dict) -> None:
        require_reader(principal)
        with self._db.session() as session, session.begin():
            case = self._cases.held_case(session, principal, code,
                                         states=("claimed", "ended", "queued"))
            self.store(session, principal, case, note_id, sealed)

    def store(self, session, principal: Principal, case, note_id: int, sealed: dict) -> None:
        """Check and store a note inside the caller's transaction (a handover's note too)."""
        if type(note_id) is not int or not 0 < note_id <= MAX_NOTE_ID:
            raise EscalationError("note_id must be a positive integer")
        if not isinstance(sealed, dict) or len(json.dumps(sealed)) > MAX_SEALED:
            raise EscalationError("a note must be a sealed item of at most 40 kB")
        self._check(session, principal, case, note_id, sealed)
        try:
            with session.begin_nested():
                session.add(CaseNote(case_id=case.id, note_id=note_id,
                                     author=principal.staff_id, sealed=json.dumps(sealed),
                                     created_at=self._clock()))
        except IntegrityError:
            raise Conflict("this note was already stored") from None
        self._audit.record(session, principal.staff_id, "note", case.code)

    def _check(self, session, principal: Principal, case, note_id: int, sealed: dict) -> None:
        """Signed by the caller's own key, and readable only by the case's staff."""
        if sealed.get("signer") != principal.key_id:
            raise Forbidden("a note must be signed with your own key")
        key = session.get(StaffKey, principal.key_id)
        try:
            crypto.verify_item(sealed, SealContext(case.id, note_id, "note"), key.ed25519)
        except CryptoError:
            raise Forbidden("the note's signature does not verify") from None
        allowed = {k.key_id for k in self._staff.readers(
            session, [case.claimed_by] if case.claimed_by else [])}
        allowed |= {k.key_id for k in self._staff.readers(session, roles=("supervisor",))}
        allowed |= {k.key_id for k in self._staff.readers(session, [principal.staff_id])}
        if not isinstance(sealed.get("recipients"), dict) or not set(
                sealed["recipients"]) <= allowed:
            raise Forbidden("a note is for the case's staff only")
