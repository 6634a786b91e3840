"""Staff and their keys: invitations, enrolment, admin approvals and revocations, and who
may read.

A key reads cases only once an admin signed its approval on their own machine, and never
again once an admin signed its revocation (retired by a newer key, or its owner removed).
Both signatures are re-verified whenever readers are chosen or a session is used, so status
columns changed by someone who can only write to the database add or revive no reader.
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
from bot.escalation.tables import KeyRevocation, Staff, StaffKey, StaffSession
from bot.escalation.vault import SubjectVault
from bot.escalation.views import Principal, clean_name, require_role, require_staff
from bot.storage import Database

log = logging.getLogger(__name__)

CODE_ALPHABET = "ACDEFHJKMNPQRTWXY3479"  # no look-alikes (0/O, 1/I/L, 5/S, 8/B)
ALIAS_LENGTH = (2, 30)
# A revocation's signed time must be this close to the server's clock: clients refuse items
# sealed to a key after its revocation (with the same allowance), so the two clocks meet.
REVOCATION_SKEW = dt.timedelta(minutes=5)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def staff_subject(staff_id: str) -> str:
    return f"staff:{staff_id}"


def key_doc(key: StaffKey, staff: Staff, revocation: KeyRevocation | None = None) -> dict:
    """A key as clients verify it: the admin's approval, and their revocation if any."""
    identity = PublicIdentity(key.x25519, key.ed25519)
    return {**identity.as_json(), "fingerprint": identity.fingerprint(), "status": key.status,
            "staff_id": staff.id, "display_name": staff.display_name, "role": staff.role,
            "approval": key.approval,
            "revocation": None if revocation is None else {
                "reason": revocation.reason, "revoked_at": revocation.revoked_at,
                "signature": revocation.signature}}


def clean_alias(alias: str) -> str:
    """The name users see: letters and spaces only, so no phone number or id fits in it."""
    alias = " ".join((alias or "").split())
    low, high = ALIAS_LENGTH
    if not low <= len(alias) <= high or not all(ch.isalpha() or ch == " " for ch in alias):
        raise EscalationError(f"an alias needs {low}–{high} letters (a chosen name, "
                              "not your real one)")
    return alias


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

    def enrol(self, code: str, identity: PublicIdentity,
              alias: str | None = None) -> tuple[str, str]:
        """Register the public keys made on a counselor's device; pending until approved."""
        alias = clean_alias(alias) if alias is not None else None
        with self._db.session() as session, session.begin():
            staff = session.scalar(select(Staff).where(Staff.enrolment_hash == digest(code)))
            if staff is None or staff.status != "invited" or (
                    staff.enrolment_expires and staff.enrolment_expires < self._clock()):
                raise Unauthorized("unknown or expired enrolment code")
            staff.enrolment_hash = None  # single use
            staff.alias = alias
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

    def set_alias(self, principal: Principal, alias: str) -> str:
        require_staff(principal)
        alias = clean_alias(alias)
        with self._db.session() as session, session.begin():
            session.get(Staff, principal.staff_id).alias = alias
            self._audit.record(session, principal.staff_id, "alias_set")
        return alias

    def keys(self, status: str | None = None, staff_id: str | None = None) -> list[dict]:
        """Registered keys with what an admin needs to approve them (and clients to verify)."""
        with self._db.session() as session:
            query = select(StaffKey, Staff).join(Staff, Staff.id == StaffKey.staff_id)
            if status:
                query = query.where(StaffKey.status == status)
            if staff_id:
                query = query.where(StaffKey.staff_id == staff_id)
            rows = session.execute(query.order_by(StaffKey.created_at)).all()
            revoked = self._revocations(session, [key.key_id for key, _ in rows])
            return [key_doc(key, staff, revoked.get(key.key_id)) for key, staff in rows]

    def key_docs(self, session: Session, key_ids: Iterable[str]) -> list[dict]:
        rows = session.execute(select(StaffKey, Staff).join(Staff, Staff.id == StaffKey.staff_id)
                               .where(StaffKey.key_id.in_(list(key_ids)))).all()
        revoked = self._revocations(session, [key.key_id for key, _ in rows])
        return [key_doc(key, staff, revoked.get(key.key_id)) for key, staff in rows]

    # ----------------------------------------------------------------- approval and removal

    def approve(self, actor: Principal, key_id: str, signature: str,
                retirements: Iterable[dict] = ()) -> None:
        """Activate a key an admin signed on their own machine. The person's keys in use are
        retired by it, each by a revocation the same admin signed ("retired")."""
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
            in_use = [k for k in self._approved_keys(session, staff.id) if k.key_id != key_id]
            self._revoke(session, staff, in_use, retirements, "retired")
            key.status, key.approval, key.approved_at = "active", signature, self._clock()
            staff.status = "active"
            self._audit.record(session, actor.staff_id, "approve", detail=key_id)

    def remove(self, actor: Principal, staff_id: str, revocations: Iterable[dict]) -> None:
        """A removed person reads no new case, and every session of theirs ends now. Every
        key of theirs an admin approved is ended by a revocation the admin signed."""
        require_role(actor, "admin")
        with self._db.session() as session, session.begin():
            staff = session.get(Staff, staff_id)
            if staff is None:
                raise NotFound("no such staff member")
            self._revoke(session, staff, self._approved_keys(session, staff_id), revocations,
                         "removed")
            staff.status, staff.notify_ref = "removed", None
            session.execute(update(StaffKey).where(StaffKey.staff_id == staff_id)
                            .values(status="removed"))
            session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
            self._vault.shred(session, staff_subject(staff_id))
            self._audit.record(session, actor.staff_id, "remove", detail=staff_id)

    def _approved_keys(self, session: Session, staff_id: str) -> list[StaffKey]:
        """The person's keys an admin approved that no revocation has ended yet."""
        keys = session.scalars(select(StaffKey).where(StaffKey.staff_id == staff_id,
                                                      StaffKey.approval.is_not(None))).all()
        revoked = self._revocations(session, [k.key_id for k in keys])
        return [k for k in keys if k.key_id not in revoked]

    def _revoke(self, session: Session, staff: Staff, keys: list[StaffKey],
                signed: Iterable[dict], reason: str) -> None:
        """Store a verified revocation for each key; refuse if one is missing or wrong."""
        given = {doc.get("key_id"): doc for doc in signed if isinstance(doc, dict)}
        for key in keys:
            doc = given.get(key.key_id)
            if doc is None:
                raise Conflict(f"key {key.key_id} needs a revocation signed by an admin "
                               f"({reason})")
            revoked_at, signature = str(doc.get("revoked_at", "")), str(doc.get("signature", ""))
            try:
                skew = abs(crypto.parse_iso_utc(revoked_at) - self._clock())
            except ValueError:
                skew = None
            if skew is None or skew > REVOCATION_SKEW:
                raise Conflict("a revocation must be signed now (check the admin machine's "
                               "clock)")
            if not crypto.revocation_valid(self.admin_keys, PublicIdentity(key.x25519,
                                                                           key.ed25519),
                                           staff.id, reason, revoked_at, signature):
                raise Forbidden(f"the revocation of {key.key_id} does not verify against an "
                                "admin key")
            session.add(KeyRevocation(key_id=key.key_id, staff_id=staff.id, reason=reason,
                                      revoked_at=revoked_at, signature=signature))
            key.status = "retired" if reason == "retired" else "removed"
            self._audit.record(session, "system", f"key_{reason}", detail=key.key_id)

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

    def people(self, principal: Principal) -> list[dict]:
        """Colleagues: readers see active counselors and supervisors (to hand a case over);
        admins see everyone with their status (to approve or remove)."""
        with self._db.session() as session:
            query = select(Staff).order_by(Staff.created_at)
            if principal.role != "admin":
                query = query.where(Staff.status == "active", Staff.role.in_(READER_ROLES))
            return [{"staff_id": s.id, "display_name": s.display_name, "alias": s.alias,
                     "role": s.role, "status": s.status} for s in session.scalars(query)]

    def names(self, session: Session) -> dict[str, str]:
        return dict(session.execute(select(Staff.id, Staff.display_name)).all())

    # ----------------------------------------------------------------- who may read

    def recipients(self) -> list[PublicIdentity]:
        """Every usable key of an active reader: who receives a new case."""
        with self._db.session() as session:
            return self.readers(session)

    def readers(self, session: Session, staff_ids: Iterable[str] | None = None,
                roles: Iterable[str] = READER_ROLES) -> list[PublicIdentity]:
        """Usable keys of active readers in ``roles`` (or of ``staff_ids``, whatever role)."""
        query = (select(StaffKey, Staff).join(Staff, Staff.id == StaffKey.staff_id)
                 .where(StaffKey.status == "active", Staff.status == "active",
                        Staff.role.in_(tuple(READER_ROLES))))
        if staff_ids is not None:
            query = query.where(Staff.id.in_(list(staff_ids)))
        else:
            query = query.where(Staff.role.in_(tuple(roles)))
        return [PublicIdentity(key.x25519, key.ed25519)
                for key, _ in self.usable(session, session.execute(query).all())]

    def usable(self, session: Session, rows) -> list[tuple[StaffKey, Staff]]:
        """The (key, staff) rows an admin approved and did not revoke."""
        rows = list(rows)
        revoked = self._revocations(session, [key.key_id for key, _ in rows])
        usable = []
        for key, staff in rows:
            identity = PublicIdentity(key.x25519, key.ed25519)
            if key.key_id in revoked:
                continue
            if key.approval and self._approval_ok(identity, staff.id, staff.role, key.approval):
                usable.append((key, staff))
            else:
                log.error("key %s has no valid admin approval: not used", key.key_id)
        return usable

    def _revocations(self, session: Session, key_ids: list[str]) -> dict[str, KeyRevocation]:
        """Valid revocations of these keys (a forged one is ignored, and logged)."""
        if not key_ids:
            return {}
        found = {}
        rows = session.execute(select(KeyRevocation, StaffKey)
                               .join(StaffKey, StaffKey.key_id == KeyRevocation.key_id)
                               .where(KeyRevocation.key_id.in_(key_ids))).all()
        for revocation, key in rows:
            identity = PublicIdentity(key.x25519, key.ed25519)
            if self._revocation_ok(identity, revocation.staff_id, revocation.reason,
                                   revocation.revoked_at, revocation.signature):
                found[key.key_id] = revocation
            else:
                log.error("key %s has a revocation that does not verify", key.key_id)
        return found

    @lru_cache(maxsize=4096)  # noqa: B019 - one directory per process; the cache is bounded
    def _approval_ok(self, identity: PublicIdentity, staff_id: str, role: str,
                     signature: str) -> bool:
        """Whether an admin signed exactly this key, person and role. Cached on all of them,
        so any change in the database is verified afresh."""
        return crypto.approval_valid(self.admin_keys, identity, staff_id, role, signature)

    @lru_cache(maxsize=4096)  # noqa: B019 - as above
    def _revocation_ok(self, identity: PublicIdentity, staff_id: str, reason: str,
                       revoked_at: str, signature: str) -> bool:
        return crypto.revocation_valid(self.admin_keys, identity, staff_id, reason, revoked_at,
                                       signature)

    def is_admin_key(self, key_id: str) -> bytes | None:
        """The Ed25519 key of a configured admin with this key id, if any."""
        return next((k for k in self.admin_keys if PublicIdentity(b"", k).key_id == key_id),
                    None)

    def login_identity(self, session: Session, key_id: str) -> tuple[str, str, bytes] | None:
        """(staff id, role, Ed25519 key) for a usable staff key or a configured admin key."""
        admin = self.is_admin_key(key_id)
        if admin is not None:
            return f"admin:{key_id}", "admin", admin
        row = session.execute(select(StaffKey, Staff).join(Staff, Staff.id == StaffKey.staff_id)
                              .where(StaffKey.key_id == key_id, StaffKey.status == "active",
                                     Staff.status == "active")).first()
        if row is None or not self.usable(session, [row]):
            return None
        return row[1].id, row[1].role, row[0].ed25519

    def alias(self, session: Session, staff_id: str | None) -> str | None:
        staff = session.get(Staff, staff_id) if staff_id else None
        return staff.alias if staff else None
