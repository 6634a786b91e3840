"""Staff and their keys: invitations, enrolment, admin approvals, removal, and who may read.

A key reads cases only once an admin signed it on their own machine; the signature is
re-verified every time readers are chosen, so a key written into the database without it
receives nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable
from functools import lru_cache

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.escalation import crypto
from bot.escalation.audit import AuditLog
from bot.escalation.crypto import PublicIdentity
from bot.escalation.errors import Conflict, EscalationError, Forbidden, NotFound, Unauthorized
from bot.escalation.policy import READER_ROLES, ROLES, EscalationPolicy
from bot.escalation.tables import Case, Staff, StaffKey, StaffSession
from bot.escalation.vault import SubjectVault
from bot.escalation.views import Principal, clean_name, require_role, require_staff
from bot.storage import Database

log = logging.getLogger(__name__)

CODE_ALPHABET = "ACDEFHJKMNPQRTWXY3479"  # no look-alikes (0/O, 1/I/L, 5/S, 8/B)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def staff_subject(staff_id: str) -> str:
    return f"staff:{staff_id}"


def key_doc(key: StaffKey, staff: Staff) -> dict:
    identity = PublicIdentity(key.x25519, key.ed25519)
    return {**identity.as_json(), "fingerprint": identity.fingerprint(), "status": key.status,
            "staff_id": staff.id, "display_name": staff.display_name, "role": staff.role,
            "approval": key.approval}


class StaffDirectory:
    def __init__(self, database: Database, vault: SubjectVault, admin_keys: tuple[bytes, ...],
                 policy: EscalationPolicy, audit: AuditLog, clock: Callable[[], dt.datetime]):
        self._db = database
        self._vault = vault
        self.admin_keys = admin_keys
        self._policy = policy
        self._audit = audit
        self._clock = clock

    # ----------------------------------------------------------------- enrolment

    def invite(self, actor: Principal, display_name: str, role: str) -> tuple[str, str]:
        """A new staff member and their one-time enrolment code (given out of band)."""
        require_role(actor, "admin")
        name = clean_name(display_name)
        if role not in ROLES:
            raise EscalationError(f"role must be one of {', '.join(ROLES)}")
        # No "-" in the code: a command line would read it as an option.
        staff_id = f"s{secrets.token_hex(6)}"
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
        with self._db.session() as session, session.begin():
            session.add(Staff(id=staff_id, display_name=name, role=role, status="invited",
                              enrolment_hash=digest(code), created_at=self._clock(),
                              enrolment_expires=self._clock() + dt.timedelta(
                                  hours=self._policy.enrolment_hours)))
            self._audit.record(session, actor.staff_id, "invite", detail=f"{staff_id} {role}")
        return staff_id, code

    def enrol(self, code: str, identity: PublicIdentity) -> tuple[str, str]:
        """Register the public keys made on a counselor's device; pending until approved."""
        with self._db.session() as session, session.begin():
            staff = session.scalar(select(Staff).where(Staff.enrolment_hash == digest(code)))
            if staff is None or staff.status != "invited" or (
                    staff.enrolment_expires and staff.enrolment_expires < self._clock()):
                raise Unauthorized("unknown or expired enrolment code")
            staff.enrolment_hash = None  # single use
            self._add_key(session, staff.id, identity)
            self._audit.record(session, staff.id, "enrol", detail=identity.key_id)
            return staff.id, identity.key_id

    def add_key(self, principal: Principal, identity: PublicIdentity) -> str:
        """Key rotation: a new identity for the same person, pending until approved."""
        require_staff(principal)
        with self._db.session() as session, session.begin():
            self._add_key(session, principal.staff_id, identity)
            self._audit.record(session, principal.staff_id, "key_added",
                               detail=identity.key_id)
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
            return [key_doc(key, staff) for key, staff in session.execute(
                query.order_by(StaffKey.created_at))]

    def key_docs(self, session: Session, key_ids: Iterable[str]) -> list[dict]:
        rows = session.execute(select(StaffKey, Staff).join(Staff, Staff.id == StaffKey.staff_id)
                               .where(StaffKey.key_id.in_(list(key_ids))))
        return [key_doc(key, staff) for key, staff in rows]

    # ----------------------------------------------------------------- approval and removal

    def approve(self, actor: Principal, key_id: str, signature: str) -> None:
        """Activate a key an admin signed on their own machine; retire the person's older key."""
        require_role(actor, "admin")
        with self._db.session() as session, session.begin():
            key = session.get(StaffKey, key_id)
            if key is None:
                raise NotFound("no such key")
            staff = session.get(Staff, key.staff_id)
            if key.status != "pending" or staff.status == "removed":
                raise Conflict(f"key is {key.status}, staff is {staff.status}")
            identity = PublicIdentity(key.x25519, key.ed25519)
            if not crypto.approval_valid(self.admin_keys, identity, staff.id, staff.role,
                                         signature):
                raise Forbidden("the approval signature does not verify against an admin key")
            session.execute(update(StaffKey).where(StaffKey.staff_id == staff.id,
                                                   StaffKey.status == "active")
                            .values(status="retired"))
            key.status, key.approval, key.approved_at = "active", signature, self._clock()
            staff.status = "active"
            self._audit.record(session, actor.staff_id, "approve", detail=key_id)

    def remove(self, actor: Principal, staff_id: str) -> None:
        """A removed person reads no new case, and every session of theirs ends now."""
        require_role(actor, "admin")
        with self._db.session() as session, session.begin():
            staff = session.get(Staff, staff_id)
            if staff is None:
                raise NotFound("no such staff member")
            staff.status, staff.notify_ref = "removed", None
            session.execute(update(StaffKey).where(StaffKey.staff_id == staff_id)
                            .values(status="removed"))
            session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
            self._vault.shred(session, staff_subject(staff_id))
            # Their open cases go back to the queue for someone who can still read them.
            session.execute(update(Case).where(Case.claimed_by == staff_id,
                                               Case.status == "claimed")
                            .values(status="queued", claimed_by=None, claimed_at=None))
            self._audit.record(session, actor.staff_id, "remove", detail=staff_id)

    # ----------------------------------------------------------------- notifications

    def set_notify_chat(self, principal: Principal, address: str | None) -> None:
        """Where to notify this counselor ("telegram:<chat id>"), stored encrypted."""
        require_staff(principal)
        with self._db.session() as session, session.begin():
            staff = session.get(Staff, principal.staff_id)
            staff.notify_ref = None if not address else self._vault.seal(
                session, staff_subject(staff.id), "notify", address)
            self._audit.record(session, principal.staff_id, "notify_set")

    def notify_address(self, session: Session, staff: Staff) -> str | None:
        return self._vault.open(session, staff_subject(staff.id), "notify", staff.notify_ref)

    def notify_addresses(self, roles: Iterable[str] = READER_ROLES) -> list[str]:
        with self._db.session() as session, session.begin():
            staff = session.scalars(select(Staff).where(Staff.status == "active",
                                                        Staff.role.in_(tuple(roles))))
            addresses = [self.notify_address(session, s) for s in staff]
        return [a for a in addresses if a]

    def names(self, session: Session) -> dict[str, str]:
        return dict(session.execute(select(Staff.id, Staff.display_name)).all())

    # ----------------------------------------------------------------- who may read

    def recipients(self) -> list[PublicIdentity]:
        """Approved keys of active readers."""
        with self._db.session() as session:
            rows = session.execute(select(StaffKey, Staff)
                                   .join(Staff, Staff.id == StaffKey.staff_id)
                                   .where(StaffKey.status == "active", Staff.status == "active",
                                          Staff.role.in_(READER_ROLES)))
            return self.approved(rows)

    def approved(self, rows) -> list[PublicIdentity]:
        approved = []
        for key, staff in rows:
            identity = PublicIdentity(key.x25519, key.ed25519)
            if key.approval and self._approval_ok(identity, staff.id, staff.role, key.approval):
                approved.append(identity)
            else:
                log.error("key %s has no valid admin approval: not used", key.key_id)
        return approved

    @lru_cache(maxsize=4096)  # noqa: B019 - one directory per process; the cache is bounded
    def _approval_ok(self, identity: PublicIdentity, staff_id: str, role: str,
                     signature: str) -> bool:
        """Whether an admin signed exactly this key, person and role. Cached on all of them,
        so any change in the database is verified afresh."""
        return crypto.approval_valid(self.admin_keys, identity, staff_id, role, signature)

    def login_identity(self, session: Session, key_id: str) -> tuple[str, str, bytes] | None:
        """(staff id, role, Ed25519 key) for an active approved key or an admin key."""
        for admin in self.admin_keys:
            if PublicIdentity(b"", admin).key_id == key_id:
                return f"admin:{key_id}", "admin", admin
        row = session.execute(select(StaffKey, Staff).join(Staff, Staff.id == StaffKey.staff_id)
                              .where(StaffKey.key_id == key_id, StaffKey.status == "active",
                                     Staff.status == "active")).first()
        if row is None or not self.approved([row]):
            return None
        return row[1].id, row[1].role, row[0].ed25519
