"""Cases: opening one sealed to every approved reader, the risk-ordered queue, exclusive
claims, the sealed relay both ways, closing with an outcome, and the waiting-case timers.

Case content is sealed here to readers' public keys and opened only on their devices. Each
sealed item is signed with the server's key, which clients pin, so a database writer can
neither forge nor re-seal what a counselor reads. A case always has a reader who can act:
new items go to the holder's current keys and to every supervisor, so a key rotation or a
removal never strands a case or loses a user's message.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import uuid
from collections.abc import Callable, Iterable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.escalation import crypto
from bot.escalation.audit import AuditLog
from bot.escalation.crypto import WRAP_LEN, CryptoError, PublicIdentity, SealContext, b64d, iso_utc
from bot.escalation.errors import Conflict, EscalationError, Forbidden, NoCounselors, NotFound
from bot.escalation.policy import RISK_RANK, EscalationPolicy
from bot.escalation.staff import CODE_ALPHABET, StaffDirectory
from bot.escalation.tables import Case, CaseItem, CaseItemShare, CaseNote, Staff
from bot.escalation.vault import SubjectVault
from bot.escalation.views import (
    CaseView,
    Principal,
    Reminder,
    Ticket,
    UserRoute,
    case_view,
    require_reader,
)
from bot.escalation.wrapup import WrapUp
from bot.storage import Database

OPEN_STATES = ("queued", "claimed")
_SLUG = re.compile(r"^[a-z0-9_]{1,64}$")
_MAX_TEXT = 4000
_MAX_SHARES = 500


class CaseBook:
    def __init__(self, database: Database, staff: StaffDirectory, vault: SubjectVault,
                 policy: EscalationPolicy, audit: AuditLog, clock: Callable[[], dt.datetime],
                 signer: Ed25519PrivateKey):
        self._db = database
        self._staff = staff
        self._vault = vault
        self.policy = policy
        self._audit = audit
        self._clock = clock
        self._signer = signer

    @property
    def signing_key(self) -> bytes:
        """The public half of the server's item-signing key, which clients pin."""
        return self._signer.public_key().public_bytes_raw()

    # ----------------------------------------------------------------- opening a case

    def open_case(self, subject: str, routing: str, risk: str, body: dict,
                  discreet: bool = True, reminders: int = 1) -> Ticket:
        """Seal the case to every approved reader and queue it."""
        if risk not in RISK_RANK:
            raise EscalationError(f"unknown risk {risk!r}")
        case_id, now = uuid.uuid4().hex, self._clock()
        with self._db.session() as session, session.begin():
            recipients = self._staff.readers(session)
            if not recipients:
                raise NoCounselors("no approved counselor can receive a case")
            code = self._new_code(session)
            session.add(Case(id=case_id, code=code, risk=risk, risk_rank=RISK_RANK[risk],
                             status="queued", subject=subject, created_at=now,
                             channel=routing.partition(":")[0],
                             routing=self._vault.seal(session, subject, f"routing:{case_id}",
                                                      routing),
                             recipients="\n".join(sorted(r.key_id for r in recipients)),
                             notified_at=now, notify_count=1, next_item=1,
                             discreet=discreet,
                             user_reminders=max(0, min(reminders, self.policy.user_reminders)),
                             user_reminded=0))
            self._add_sealed(session, case_id, 0, "case",
                             json.dumps(body, ensure_ascii=False), recipients)
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

    def claim(self, principal: Principal, code: str) -> tuple[CaseView, UserRoute | None]:
        """Exclusive: one conditional UPDATE, so of two simultaneous claims exactly one wins.
        Any active reader may claim, even one approved after the case opened: from then on
        everything is sealed to them too. Returns the case and the user's route."""
        require_reader(principal)
        with self._db.session() as session, session.begin():
            case = self._case(session, code)
            won = session.execute(update(Case).where(Case.id == case.id,
                                                     Case.status == "queued")
                                  .values(status="claimed", claimed_by=principal.staff_id,
                                          claimed_at=self._clock())).rowcount
            if won != 1:
                raise Conflict(f"case {code} is no longer waiting")
            self._audit.record(session, principal.staff_id, "claim", code)
        with self._db.session() as session, session.begin():
            case = self._case(session, code)
            return case_view(case, self._staff.names(session)), self._route(session, case)

    def release(self, staff_id: str) -> list[tuple[str, UserRoute | None]]:
        """Cases held by someone who can no longer act go back to the queue: (code, route)."""
        released = []
        with self._db.session() as session, session.begin():
            for case in session.scalars(select(Case).where(Case.claimed_by == staff_id,
                                                           Case.status == "claimed")):
                case.status, case.claimed_by, case.claimed_at = "queued", None, None
                case.notified_at = self._clock()
                self._audit.record(session, "system", "requeue", case.code)
                released.append((case.code, self._route(session, case)))
        return released

    def read(self, principal: Principal, code: str, since: int = -1) -> dict:
        """The sealed case, its messages after ``since`` and its private notes, with every
        key that can open them (each with its admin approval and any revocation) so the
        client verifies the readers itself. A full read is audited."""
        require_reader(principal)
        with self._db.session() as session, session.begin():
            case = self.held_case(session, principal, code, states=None)
            items = session.scalars(select(CaseItem).where(CaseItem.case_id == case.id,
                                                           CaseItem.item > since)
                                    .order_by(CaseItem.item)).all()
            notes = session.scalars(select(CaseNote).where(CaseNote.case_id == case.id)
                                    .order_by(CaseNote.id)).all()
            shares = self._shares(session, case.id)
            docs = [json.loads(i.sealed) for i in items] + [json.loads(n.sealed) for n in notes]
            key_ids = set(case.recipients.split("\n"))
            for doc in docs:
                key_ids |= set(doc.get("recipients") or {}) | {doc.get("signer")} - {None}
            key_ids |= {key for per_item in shares.values() for key in per_item}
            directory = {d["key_id"]: d for d in self._staff.key_docs(session, key_ids)}
            if since < 0:
                self._audit.record(session, principal.staff_id, "read", code)
            return {"case": case_view(case, self._staff.names(session)).as_json(),
                    "case_id": case.id,
                    "recipients": [directory.get(k, {"key_id": k}) for k in sorted(key_ids)],
                    "items": [{"item": i.item, "direction": i.direction, "sealed": doc,
                               "shares": shares.get(i.item, {}),
                               "at": i.created_at.isoformat() + "Z"}
                              for i, doc in zip(items, docs, strict=False)],
                    "notes": [{"note_id": n.note_id, "author": n.author,
                               "sealed": json.loads(n.sealed),
                               "at": n.created_at.isoformat() + "Z"} for n in notes]}

    def share(self, principal: Principal, code: str, shares: Iterable[dict]) -> int:
        """Wraps a reader made, on their own device, of items they can open, for another of
        their own usable keys (after a rotation). Returns how many were new."""
        require_reader(principal)
        with self._db.session() as session, session.begin():
            case = self.held_case(session, principal, code, states=None)
            own = {k.key_id for k in self._staff.readers(session, [principal.staff_id])}
            added = self.store_shares(session, case, shares, own)
            self._audit.record(session, principal.staff_id, "share", code, str(added))
        return added

    def store_shares(self, session: Session, case: Case, shares: Iterable[dict],
                     allowed: set[str]) -> int:
        """Store wraps made on a reader's device, each for a key in ``allowed``."""
        shares = list(shares)
        if len(shares) > _MAX_SHARES:
            raise EscalationError(f"at most {_MAX_SHARES} shares at once")
        items = set(session.scalars(select(CaseItem.item).where(CaseItem.case_id == case.id)))
        added = 0
        for doc in shares:
            item, key_id, wrap = _share_fields(doc)
            if key_id not in allowed:
                raise Forbidden("a share must be for a key of the case's new reader")
            if item not in items:
                raise NotFound(f"no item {item} in case {case.code}")
            try:
                with session.begin_nested():
                    session.add(CaseItemShare(case_id=case.id, item=item, key_id=key_id,
                                              wrap=wrap, created_at=self._clock()))
                added += 1
            except IntegrityError:
                continue  # already shared: the first wrap stands
        return added

    @staticmethod
    def _shares(session: Session, case_id: str) -> dict[int, dict[str, str]]:
        shares: dict[int, dict[str, str]] = {}
        for row in session.scalars(select(CaseItemShare)
                                   .where(CaseItemShare.case_id == case_id)):
            shares.setdefault(row.item, {})[row.key_id] = row.wrap
        return shares

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
            case.last_user_at = self._clock()
            counselor = session.get(Staff, case.claimed_by)
            address = self._staff.notify_address(session, counselor)
            return case_view(case, self._staff.names(session)), [address] if address else []

    def counselor_message(self, principal: Principal, code: str,
                          text: str) -> UserRoute | None:
        """Seal and store a counselor's message; returns where to deliver it (None if the
        user has wiped their data)."""
        require_reader(principal)
        if not text.strip() or len(text) > _MAX_TEXT:
            raise EscalationError(f"a message needs 1–{_MAX_TEXT} characters")
        with self._db.session() as session, session.begin():
            case = self.held_case(session, principal, code, states=("claimed",))
            self._add_item(session, case, "counselor", text)
            self._audit.record(session, principal.staff_id, "reply", code)
            return self._route(session, case)

    def _add_item(self, session: Session, case: Case, direction: str, text: str) -> None:
        """Sealed to whoever can act on the case now: the holder's usable keys (a rotated
        key's successor included) and every supervisor's. A removed person reads nothing."""
        readers = self._staff.readers(session, [case.claimed_by] if case.claimed_by else [])
        readers += self._staff.readers(session, roles=("supervisor",))
        if not readers:
            raise NoCounselors("nobody who can still act on this case has a usable key")
        item = case.next_item
        case.next_item = item + 1
        self._add_sealed(session, case.id, item, direction, text, readers)

    def _add_sealed(self, session: Session, case_id: str, item: int, direction: str,
                    text: str, readers: list[PublicIdentity]) -> None:
        now = self._clock()
        context = SealContext(case_id, item, direction)
        sealed = crypto.sign_item(crypto.seal(text.encode(), _unique(readers), context),
                                  context, self._signer, iso_utc(now))
        session.add(CaseItem(case_id=case_id, item=item, direction=direction,
                             sealed=json.dumps(sealed), created_at=now))

    def close(self, principal: Principal, code: str, wrapup: WrapUp) -> UserRoute | None:
        """Record the wrap-up (outcome from the fixed list, coded fields counted only with
        the user's consent) and end the relay; returns the user's route if they were still
        in the chat."""
        require_reader(principal)
        with self._db.session() as session, session.begin():
            case = self.held_case(session, principal, code, states=("claimed", "ended"))
            route = self._route(session, case) if case.status == "claimed" else None
            wrapup.apply(session, case, self._clock().date())
            case.status, case.closed_at = "closed", self._clock()
            self._audit.record(session, principal.staff_id, "close", code, wrapup.outcome)
            return route

    def user_end(self, subject: str) -> list[tuple[str, str | None, str | None]]:
        """The user cancels or leaves: a waiting case is cancelled, a held one ends (its
        counselor still records the outcome). Returns (code, counselor's notify address,
        holder's staff id)."""
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
                ended.append((case.code, address, case.claimed_by))
        return ended

    # ----------------------------------------------------------------- timers

    def waiting_summary(self) -> tuple[int, float]:
        """(unclaimed cases, seconds the oldest has waited): the operator's queue gauge."""
        with self._db.session() as session:
            created = list(session.scalars(select(Case.created_at)
                                           .where(Case.status == "queued")))
        oldest = (self._clock() - min(created)).total_seconds() if created else 0.0
        return len(created), oldest

    def due_reminders(self) -> list[Reminder]:
        """Cases waiting too long: counselors are notified again every N minutes, the user
        (silently) only as many times as they chose at intake, and the supervisors once after
        M minutes. Marks them so each fires once."""
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
                    route = None
                    if case.user_reminded < case.user_reminders:
                        case.user_reminded += 1
                        route = self._route(session, case)
                    reminders.append(Reminder(case.code, case.risk, "renotify", route))
        return reminders

    # ----------------------------------------------------------------- helpers

    def _case(self, session: Session, code: str) -> Case:
        case = session.scalar(select(Case).where(Case.code == (code or "").upper()))
        if case is None:
            raise NotFound(f"no case {code}")
        return case

    def held_case(self, session: Session, principal: Principal, code: str,
                   states: tuple[str, ...] | None) -> Case:
        case = self._case(session, code)
        if case.claimed_by != principal.staff_id and principal.role != "supervisor":
            raise Forbidden(f"you do not hold case {case.code}")
        if states is not None and case.status not in states:
            raise Conflict(f"case {case.code} is {case.status}")
        return case

    def _route(self, session: Session, case: Case) -> UserRoute | None:
        address = self._vault.open(session, case.subject, f"routing:{case.id}", case.routing)
        if address is None:
            return None
        return UserRoute(address, case.subject, bool(case.discreet))

    def holder_of(self, code: str) -> str | None:
        with self._db.session() as session:
            return self._case(session, code).claimed_by

    def holder_alias(self, code: str) -> str | None:
        """The name the user sees for the case's holder."""
        with self._db.session() as session:
            return self._staff.alias(session, self._case(session, code).claimed_by)


def _unique(readers: list[PublicIdentity]) -> list[PublicIdentity]:
    return list({r.key_id: r for r in readers}.values())


def _share_fields(doc: object) -> tuple[int, str, str]:
    if not isinstance(doc, dict):
        raise EscalationError("each share must be an object")
    item, key_id, wrap = doc.get("item"), doc.get("key_id"), doc.get("wrap")
    if type(item) is not int or not isinstance(key_id, str) or not isinstance(wrap, str):
        raise EscalationError("a share needs item (integer), key_id and wrap")
    try:
        if len(b64d(wrap)) != WRAP_LEN:
            raise EscalationError("a wrap has the wrong length")
    except CryptoError:
        raise EscalationError("a wrap must be base64url") from None
    return item, key_id, wrap
