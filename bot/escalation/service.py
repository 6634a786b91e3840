"""Cases, staff, keys and sessions: the escalation's state, with its rules.

Synchronous and database-bound (async callers use ``asyncio.to_thread``).
It never sees a counselor's private key: case content is sealed here to the
public keys of approved counselors and opened only on their devices. What the
server must read back itself (where to reach a user or a counselor) is
envelope-encrypted under a per-subject data key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.escalation import crypto
from bot.escalation.crypto import PublicIdentity, SealContext, login_message
from bot.escalation.envelope import Keyring, new_dek, open_field, seal_field
from bot.escalation.policy import OUTCOMES, READER_ROLES, RISK_RANK, ROLES, EscalationPolicy
from bot.escalation.tables import (
    AuditEvent,
    Case,
    CaseItem,
    LoginChallenge,
    Staff,
    StaffKey,
    StaffSession,
    SubjectKey,
)
from bot.storage import Database

log = logging.getLogger(__name__)

CODE_ALPHABET = "ACDEFHJKMNPQRTWXY3479"  # no look-alikes (0/O, 1/I/L, 5/S, 8/B)
OPEN_STATES = ("queued", "claimed")
_SLUG = re.compile(r"^[a-z0-9_]{1,64}$")
_MAX_TEXT = 4000
_MAX_NAME = 80


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --------------------------------------------------------------------------- errors


class EscalationError(Exception):
    """A refused request: ``status`` and ``code`` are what the API answers."""

    status = 400
    code = "bad_request"


class Unauthorized(EscalationError):
    status, code = 401, "unauthorized"


class Forbidden(EscalationError):
    status, code = 403, "forbidden"


class NotFound(EscalationError):
    status, code = 404, "not_found"


class Conflict(EscalationError):
    status, code = 409, "conflict"


class NoCounselors(EscalationError):
    status, code = 503, "no_counselors"


# --------------------------------------------------------------------------- value objects


@dataclass(frozen=True)
class Principal:
    staff_id: str
    role: str
    key_id: str
    display_name: str


@dataclass(frozen=True)
class CaseView:
    """What a counselor may see of a case without opening it: never content."""

    code: str
    risk: str
    status: str
    created_at: dt.datetime
    claimed_by: str | None
    outcome: str | None

    def as_json(self) -> dict:
        return {"code": self.code, "risk": self.risk, "status": self.status,
                "created_at": self.created_at.isoformat() + "Z",
                "claimed_by": self.claimed_by, "outcome": self.outcome}


@dataclass(frozen=True)
class Ticket:
    """What the user is told after asking for a counselor."""

    case_id: str
    code: str
    risk: str
    position: int  # 1 = next in line
    expected_wait_min: int


@dataclass(frozen=True)
class Reminder:
    code: str
    risk: str
    kind: str  # "renotify" (counselors again, the user told) or "escalate" (supervisors)
    routing: str | None


def _view(case: Case, names: dict[str, str] | None = None) -> CaseView:
    claimed = (names or {}).get(case.claimed_by or "", case.claimed_by)
    return CaseView(case.code, case.risk, case.status, case.created_at, claimed, case.outcome)


# --------------------------------------------------------------------------- the service


class CaseService:
    def __init__(self, database: Database, keyring: Keyring, admin_keys: tuple[bytes, ...],
                 policy: EscalationPolicy, clock: Callable[[], dt.datetime] = _utcnow):
        self._db = database
        self._keyring = keyring
        self._admin_keys = admin_keys
        self.policy = policy
        self._clock = clock

    # ----------------------------------------------------------------- envelope encryption

    def _subject_dek(self, session: Session, subject: str, create: bool) -> bytes | None:
        row = session.get(SubjectKey, subject)
        if row is None:
            if not create:
                return None
            dek = new_dek()
            session.add(SubjectKey(subject=subject, wrapped=self._keyring.wrap(dek, subject),
                                   created_at=self._clock()))
            return dek
        return self._keyring.unwrap(row.wrapped, subject)

    def _seal_ref(self, session: Session, subject: str, purpose: str, value: str) -> bytes:
        dek = self._subject_dek(session, subject, create=True)
        return seal_field(dek, value.encode(), f"{purpose}\0{subject}".encode())

    def _open_ref(self, session: Session, subject: str | None, purpose: str,
                  blob: bytes | None) -> str | None:
        """The plaintext reference, or None once the subject's key was shredded."""
        if subject is None or blob is None:
            return None
        dek = self._subject_dek(session, subject, create=False)
        if dek is None:
            return None
        return open_field(dek, blob, f"{purpose}\0{subject}".encode()).decode()

    def rotate_data_keys(self) -> int:
        """Re-wrap every subject key under the newest key-encryption key; returns how many."""
        moved = 0
        with self._db.session() as session, session.begin():
            for row in session.scalars(select(SubjectKey)):
                if self._keyring.needs_rewrap(row.wrapped):
                    row.wrapped = self._keyring.rewrap(row.wrapped, row.subject)
                    moved += 1
        return moved

    # ----------------------------------------------------------------- audit

    def _audit(self, session: Session, actor: str, action: str, code: str | None = None,
               detail: str | None = None) -> None:
        session.add(AuditEvent(at=self._clock(), actor=actor, action=action, case_code=code,
                               detail=detail))

    def audit_log(self, actor: Principal, limit: int = 200) -> list[dict]:
        _require_role(actor, "admin")
        with self._db.session() as session:
            rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())
                                   .limit(limit))
            return [{"at": r.at.isoformat() + "Z", "actor": r.actor, "action": r.action,
                     "case": r.case_code, "detail": r.detail} for r in rows]

    # ----------------------------------------------------------------- staff and keys

    def invite(self, actor: Principal, display_name: str, role: str) -> tuple[str, str]:
        """A new staff member and their one-time enrolment code (given out of band)."""
        _require_role(actor, "admin")
        name = _clean_name(display_name)
        if role not in ROLES:
            raise EscalationError(f"role must be one of {', '.join(ROLES)}")
        # No "-" in the code: a command line would read it as an option.
        staff_id = f"s{secrets.token_hex(6)}"
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
        with self._db.session() as session, session.begin():
            session.add(Staff(id=staff_id, display_name=name, role=role, status="invited",
                              enrolment_hash=_digest(code), created_at=self._clock(),
                              enrolment_expires=self._clock() + dt.timedelta(
                                  hours=self.policy.enrolment_hours)))
            self._audit(session, actor.staff_id, "invite", detail=f"{staff_id} {role}")
        return staff_id, code

    def enrol(self, code: str, identity: PublicIdentity) -> tuple[str, str]:
        """Register the public keys made on a counselor's device; pending until approved."""
        with self._db.session() as session, session.begin():
            staff = session.scalar(select(Staff).where(Staff.enrolment_hash == _digest(code)))
            if staff is None or staff.status != "invited" or (
                    staff.enrolment_expires and staff.enrolment_expires < self._clock()):
                raise Unauthorized("unknown or expired enrolment code")
            staff.enrolment_hash = None  # single use
            self._add_key(session, staff.id, identity)
            self._audit(session, staff.id, "enrol", detail=identity.key_id)
            return staff.id, identity.key_id

    def add_key(self, principal: Principal, identity: PublicIdentity) -> str:
        """Key rotation: a new identity for the same person, pending until approved."""
        _require_staff(principal)
        with self._db.session() as session, session.begin():
            self._add_key(session, principal.staff_id, identity)
            self._audit(session, principal.staff_id, "key_added", detail=identity.key_id)
        return identity.key_id

    def _add_key(self, session: Session, staff_id: str, identity: PublicIdentity) -> None:
        if session.get(StaffKey, identity.key_id) is not None:
            raise Conflict("this key is already registered")
        if len(identity.x25519) != 32:
            raise EscalationError("a counselor key needs an X25519 public key")
        session.add(StaffKey(key_id=identity.key_id, staff_id=staff_id, x25519=identity.x25519,
                             ed25519=identity.ed25519, status="pending",
                             created_at=self._clock()))

    def keys(self, status: str | None = None) -> list[dict]:
        """Registered keys with what an admin needs to approve them (and clients to verify)."""
        with self._db.session() as session:
            query = select(StaffKey, Staff).join(Staff, Staff.id == StaffKey.staff_id)
            if status:
                query = query.where(StaffKey.status == status)
            return [_key_doc(key, staff) for key, staff in session.execute(
                query.order_by(StaffKey.created_at))]

    def approve(self, actor: Principal, key_id: str, signature: str) -> None:
        """Activate a key an admin signed on their own machine; retire the person's older key."""
        _require_role(actor, "admin")
        with self._db.session() as session, session.begin():
            key = session.get(StaffKey, key_id)
            if key is None:
                raise NotFound("no such key")
            staff = session.get(Staff, key.staff_id)
            if key.status != "pending" or staff.status == "removed":
                raise Conflict(f"key is {key.status}, staff is {staff.status}")
            identity = PublicIdentity(key.x25519, key.ed25519)
            if not crypto.approval_valid(self._admin_keys, identity, staff.id, staff.role,
                                         signature):
                raise Forbidden("the approval signature does not verify against an admin key")
            session.execute(update(StaffKey).where(StaffKey.staff_id == staff.id,
                                                   StaffKey.status == "active")
                            .values(status="retired"))
            key.status, key.approval, key.approved_at = "active", signature, self._clock()
            staff.status = "active"
            self._audit(session, actor.staff_id, "approve", detail=key_id)

    def remove_staff(self, actor: Principal, staff_id: str) -> None:
        """A removed person reads no new case, and every session of theirs ends now."""
        _require_role(actor, "admin")
        with self._db.session() as session, session.begin():
            staff = session.get(Staff, staff_id)
            if staff is None:
                raise NotFound("no such staff member")
            staff.status, staff.notify_ref = "removed", None
            session.execute(update(StaffKey).where(StaffKey.staff_id == staff_id)
                            .values(status="removed"))
            session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
            session.execute(delete(SubjectKey).where(SubjectKey.subject == f"staff:{staff_id}"))
            # Their open cases go back to the queue for someone who can still read them.
            session.execute(update(Case).where(Case.claimed_by == staff_id,
                                               Case.status == "claimed")
                            .values(status="queued", claimed_by=None, claimed_at=None))
            self._audit(session, actor.staff_id, "remove", detail=staff_id)

    def set_notify_chat(self, principal: Principal, address: str | None) -> None:
        """Where to notify this counselor ("telegram:<chat id>"), stored encrypted."""
        _require_staff(principal)
        with self._db.session() as session, session.begin():
            staff = session.get(Staff, principal.staff_id)
            staff.notify_ref = None if not address else self._seal_ref(
                session, f"staff:{staff.id}", "notify", address)
            self._audit(session, principal.staff_id, "notify_set")

    def notify_addresses(self, roles: Iterable[str] = READER_ROLES) -> list[str]:
        with self._db.session() as session, session.begin():
            staff = session.scalars(select(Staff).where(Staff.status == "active",
                                                        Staff.role.in_(tuple(roles))))
            addresses = [self._open_ref(session, f"staff:{s.id}", "notify", s.notify_ref)
                         for s in staff]
        return [a for a in addresses if a]

    def recipients(self) -> list[PublicIdentity]:
        """Approved keys of active readers. Approvals are re-verified on every use, so a key
        written into the database without an admin's signature never receives a case."""
        with self._db.session() as session:
            rows = session.execute(select(StaffKey, Staff)
                                   .join(Staff, Staff.id == StaffKey.staff_id)
                                   .where(StaffKey.status == "active", Staff.status == "active",
                                          Staff.role.in_(READER_ROLES)))
            return self._approved(rows)

    def _approved(self, rows) -> list[PublicIdentity]:
        approved = []
        for key, staff in rows:
            identity = PublicIdentity(key.x25519, key.ed25519)
            if key.approval and self._approval_ok(identity, staff.id, staff.role, key.approval):
                approved.append(identity)
            else:
                log.error("key %s has no valid admin approval: not used", key.key_id)
        return approved

    @lru_cache(maxsize=4096)  # noqa: B019 - one service per process; the cache is bounded
    def _approval_ok(self, identity: PublicIdentity, staff_id: str, role: str,
                     signature: str) -> bool:
        """Whether an admin signed exactly this key, person and role. Cached on all of them,
        so any change in the database is verified afresh."""
        return crypto.approval_valid(self._admin_keys, identity, staff_id, role, signature)

    # ----------------------------------------------------------------- sessions

    def challenge(self, key_id: str) -> str:
        with self._db.session() as session, session.begin():
            if self._login_identity(session, key_id) is None:
                raise Unauthorized("unknown or inactive key")
            nonce = secrets.token_urlsafe(32)
            session.execute(delete(LoginChallenge).where(
                LoginChallenge.expires_at < self._clock()))
            session.add(LoginChallenge(nonce=nonce, key_id=key_id,
                                       expires_at=self._clock() + dt.timedelta(minutes=5)))
        return nonce

    def login(self, key_id: str, nonce: str, signature: str) -> tuple[str, dt.datetime, str]:
        """A session token for a signed challenge: (token, expires_at, role)."""
        with self._db.session() as session, session.begin():
            challenge = session.get(LoginChallenge, nonce)
            if challenge is not None:
                session.delete(challenge)  # single use, even when the signature is wrong
            found = self._login_identity(session, key_id)
            if (challenge is None or challenge.key_id != key_id
                    or challenge.expires_at < self._clock() or found is None):
                raise Unauthorized("unknown or expired challenge")
            staff_id, role, ed25519 = found
            if not crypto.verify_signature(ed25519, login_message(nonce, key_id), signature):
                raise Unauthorized("the signature does not verify")
            token = secrets.token_urlsafe(32)
            expires = self._clock() + dt.timedelta(minutes=self.policy.session_minutes)
            session.add(StaffSession(token_hash=_digest(token), staff_id=staff_id, role=role,
                                     key_id=key_id, expires_at=expires))
            self._audit(session, staff_id, "login")
        return token, expires, role

    def _login_identity(self, session: Session, key_id: str) -> tuple[str, str, bytes] | None:
        """(staff id, role, Ed25519 key) for an active approved key or an admin key."""
        for admin in self._admin_keys:
            if PublicIdentity(b"", admin).key_id == key_id:
                return f"admin:{key_id}", "admin", admin
        row = session.execute(select(StaffKey, Staff).join(Staff, Staff.id == StaffKey.staff_id)
                              .where(StaffKey.key_id == key_id, StaffKey.status == "active",
                                     Staff.status == "active")).first()
        if row is None or not self._approved([row]):
            return None
        return row[1].id, row[1].role, row[0].ed25519

    def authenticate(self, token: str) -> Principal:
        with self._db.session() as session:
            row = session.get(StaffSession, _digest(token or ""))
            if row is None:
                raise Unauthorized("not logged in")
            if row.expires_at < self._clock():
                raise Unauthorized("session expired: log in again")
            staff = session.get(Staff, row.staff_id)
            name = staff.display_name if staff else "Quản trị viên"
            return Principal(row.staff_id, row.role, row.key_id, name)

    def logout(self, token: str) -> None:
        with self._db.session() as session, session.begin():
            session.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(token)))

    # ----------------------------------------------------------------- opening a case

    def open_case(self, subject: str, routing: str, risk: str, body: dict) -> Ticket:
        """Seal the case to every approved counselor and queue it."""
        if risk not in RISK_RANK:
            raise EscalationError(f"unknown risk {risk!r}")
        recipients = self.recipients()
        if not recipients:
            raise NoCounselors("no approved counselor can receive a case")
        case_id, now = uuid.uuid4().hex, self._clock()
        sealed = crypto.seal(json.dumps(body, ensure_ascii=False).encode(), recipients,
                             SealContext(case_id, 0, "case"))
        with self._db.session() as session, session.begin():
            code = self._new_code(session)
            session.add(Case(id=case_id, code=code, risk=risk, risk_rank=RISK_RANK[risk],
                             status="queued", subject=subject, created_at=now,
                             routing=self._seal_ref(session, subject, f"routing:{case_id}",
                                                    routing),
                             recipients="\n".join(sorted(r.key_id for r in recipients)),
                             notified_at=now, notify_count=1, next_item=1))
            session.add(CaseItem(case_id=case_id, item=0, direction="case",
                                 sealed=json.dumps(sealed), created_at=now))
            self._audit(session, "user", "open", code, risk)
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
        _require_reader(principal)
        with self._db.session() as session:
            query = select(Case).where(Case.status.in_(OPEN_STATES + ("ended",)))
            if principal.role != "supervisor":
                query = query.where((Case.status == "queued")
                                    | (Case.claimed_by == principal.staff_id))
            cases = session.scalars(query.order_by(Case.risk_rank, Case.created_at)).all()
            return [_view(c, self._names(session)) for c in cases]

    def _names(self, session: Session) -> dict[str, str]:
        return dict(session.execute(select(Staff.id, Staff.display_name)).all())

    def claim(self, principal: Principal, code: str) -> tuple[CaseView, str | None]:
        """Exclusive: one conditional UPDATE, so of two simultaneous claims exactly one wins.
        Returns the case and the user's routing (to tell them a counselor is here)."""
        _require_reader(principal)
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
            self._audit(session, principal.staff_id, "claim", code)
        with self._db.session() as session, session.begin():
            case = self._case(session, code)
            return _view(case, self._names(session)), self._routing(session, case)

    def read(self, principal: Principal, code: str) -> dict:
        """The sealed case and messages, with each recipient's approval so the client can
        verify the recipient list itself before opening anything."""
        _require_reader(principal)
        with self._db.session() as session, session.begin():
            case = self._held_case(session, principal, code, states=None)
            items = session.scalars(select(CaseItem).where(CaseItem.case_id == case.id)
                                    .order_by(CaseItem.item)).all()
            key_ids = case.recipients.split("\n")
            directory = {d["key_id"]: d for d in self._key_docs(session, key_ids)}
            self._audit(session, principal.staff_id, "read", code)
            return {"case": _view(case, self._names(session)).as_json(), "case_id": case.id,
                    "recipients": [directory.get(k, {"key_id": k}) for k in key_ids],
                    "items": [{"item": i.item, "direction": i.direction,
                               "sealed": json.loads(i.sealed),
                               "at": i.created_at.isoformat() + "Z"} for i in items]}

    def _key_docs(self, session: Session, key_ids: list[str]) -> list[dict]:
        rows = session.execute(select(StaffKey, Staff).join(Staff, Staff.id == StaffKey.staff_id)
                               .where(StaffKey.key_id.in_(key_ids)))
        return [_key_doc(key, staff) for key, staff in rows]

    # ----------------------------------------------------------------- relay

    def active_case(self, subject: str) -> CaseView | None:
        with self._db.session() as session:
            case = session.scalars(select(Case).where(Case.subject == subject,
                                                      Case.status.in_(OPEN_STATES))
                                   .order_by(Case.created_at.desc())).first()
            return _view(case, self._names(session)) if case else None

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
            address = self._open_ref(session, f"staff:{counselor.id}", "notify",
                                     counselor.notify_ref)
            return _view(case, self._names(session)), [address] if address else []

    def counselor_message(self, principal: Principal, code: str, text: str) -> str | None:
        """Seal and store a counselor's message; returns where to deliver it (None if the
        user has wiped their data or ended the conversation)."""
        _require_reader(principal)
        if not text.strip() or len(text) > _MAX_TEXT:
            raise EscalationError(f"a message needs 1–{_MAX_TEXT} characters")
        with self._db.session() as session, session.begin():
            case = self._held_case(session, principal, code, states=("claimed",))
            self._add_item(session, case, "counselor", text)
            self._audit(session, principal.staff_id, "reply", code)
            return self._routing(session, case)

    def _add_item(self, session: Session, case: Case, direction: str, text: str) -> None:
        """Sealed to the case's readers still active: a removed counselor reads nothing new."""
        active = {r.key_id: r for r in self.recipients()}
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
        _require_reader(principal)
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
            self._audit(session, principal.staff_id, "close", code, outcome)
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
                    address = self._open_ref(session, f"staff:{counselor.id}", "notify",
                                             counselor.notify_ref)
                    case.status = "ended"
                else:
                    case.status, case.closed_at = "cancelled", self._clock()
                self._audit(session, "user", "end", case.code)
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
                    self._audit(session, "system", "escalate", case.code)
                if now - (case.notified_at or case.created_at) >= renotify:
                    case.notified_at, case.notify_count = now, case.notify_count + 1
                    reminders.append(Reminder(case.code, case.risk, "renotify",
                                              self._routing(session, case)))
        return reminders

    def purge(self) -> int:
        """Delete cases finished before the retention period, and stale sessions."""
        now = self._clock()
        cutoff = now - dt.timedelta(days=self.policy.retention_days)
        with self._db.session() as session, session.begin():
            old = session.scalars(select(Case).where(
                (Case.closed_at < cutoff) | (Case.created_at < cutoff))).all()
            for case in old:
                self._delete_case(session, case)
            session.execute(delete(StaffSession).where(StaffSession.expires_at < now))
            session.execute(delete(LoginChallenge).where(LoginChallenge.expires_at < now))
            session.execute(delete(AuditEvent).where(AuditEvent.at < cutoff))
            if old:
                self._audit(session, "system", "purge", detail=str(len(old)))
        return len(old)

    def _delete_case(self, session: Session, case: Case) -> None:
        session.execute(delete(CaseItem).where(CaseItem.case_id == case.id))
        session.delete(case)

    def shred(self, subject: str) -> list[tuple[str, str | None]]:
        """The user wiped their data: their data key and messages go, cases lose their link.

        Without the subject key the routing of every case of theirs is unreadable, even in
        a backup taken before. Outcome and risk stay, unlinked, for the indicators.
        """
        ended = self.user_end(subject)
        with self._db.session() as session, session.begin():
            for case in session.scalars(select(Case).where(Case.subject == subject)):
                session.execute(delete(CaseItem).where(CaseItem.case_id == case.id))
                case.subject, case.routing = None, None
                self._audit(session, "user", "shred", case.code)
            session.execute(delete(SubjectKey).where(SubjectKey.subject == subject))
        return ended

    def outcome_counts(self) -> dict[str, int]:
        """Closed cases per outcome, for the programme's indicators (no identifiers)."""
        with self._db.session() as session:
            rows = session.execute(select(Case.outcome, func.count()).where(
                Case.status == "closed").group_by(Case.outcome)).all()
        return {outcome: count for outcome, count in rows}

    def indicators(self) -> dict[str, dict[str, int]]:
        """Requests by risk and status, and outcomes: counts only, for programme managers."""
        with self._db.session() as session:
            by_risk = dict(session.execute(select(Case.risk, func.count())
                                           .group_by(Case.risk)).all())
            by_status = dict(session.execute(select(Case.status, func.count())
                                             .group_by(Case.status)).all())
        return {"requests_by_risk": by_risk, "requests_by_status": by_status,
                "outcomes": self.outcome_counts()}

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
        return self._open_ref(session, case.subject, f"routing:{case.id}", case.routing)


def _key_doc(key: StaffKey, staff: Staff) -> dict:
    identity = PublicIdentity(key.x25519, key.ed25519)
    return {**identity.as_json(), "fingerprint": identity.fingerprint(), "status": key.status,
            "staff_id": staff.id, "display_name": staff.display_name, "role": staff.role,
            "approval": key.approval}


def _require_role(principal: Principal, role: str) -> None:
    if principal.role != role:
        raise Forbidden(f"this needs the {role} role")


def _require_staff(principal: Principal) -> None:
    """Admins from ANTAM_ADMIN_KEYS have no staff record: no keys or chats to manage."""
    if principal.staff_id.startswith("admin:"):
        raise Forbidden("an admin key from the environment has no staff record")


def _require_reader(principal: Principal) -> None:
    if principal.role not in READER_ROLES:
        raise Forbidden("this needs the counselor or supervisor role")


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > _MAX_NAME:
        raise EscalationError(f"a display name needs 1–{_MAX_NAME} characters")
    return name

