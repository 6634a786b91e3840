"""Staff log-in: a one-time challenge signed with the person's Ed25519 key, then a session."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from sqlalchemy import delete

from bot.escalation import crypto
from bot.escalation.audit import AuditLog
from bot.escalation.crypto import login_message
from bot.escalation.errors import Unauthorized
from bot.escalation.policy import EscalationPolicy
from bot.escalation.staff import StaffDirectory, digest
from bot.escalation.tables import LoginChallenge, Staff, StaffSession
from bot.escalation.views import Principal
from bot.storage import Database


class Sessions:
    def __init__(self, database: Database, staff: StaffDirectory, policy: EscalationPolicy,
                 audit: AuditLog, clock: Callable[[], dt.datetime]):
        self._db = database
        self._staff = staff
        self._policy = policy
        self._audit = audit
        self._clock = clock

    def challenge(self, key_id: str) -> str:
        with self._db.session() as session, session.begin():
            if self._staff.login_identity(session, key_id) is None:
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
            found = self._staff.login_identity(session, key_id)
            if (challenge is None or challenge.key_id != key_id
                    or challenge.expires_at < self._clock() or found is None):
                raise Unauthorized("unknown or expired challenge")
            staff_id, role, ed25519 = found
            if not crypto.verify_signature(ed25519, login_message(nonce, key_id), signature):
                raise Unauthorized("the signature does not verify")
            token = secrets.token_urlsafe(32)
            expires = self._clock() + dt.timedelta(minutes=self._policy.session_minutes)
            session.add(StaffSession(token_hash=digest(token), staff_id=staff_id, role=role,
                                     key_id=key_id, expires_at=expires))
            self._audit.record(session, staff_id, "login")
        return token, expires, role

    def authenticate(self, token: str) -> Principal:
        with self._db.session() as session:
            row = session.get(StaffSession, digest(token or ""))
            if row is None:
                raise Unauthorized("not logged in")
            if row.expires_at < self._clock():
                raise Unauthorized("session expired: log in again")
            staff = session.get(Staff, row.staff_id)
            name = staff.display_name if staff else "Quản trị viên"
            return Principal(row.staff_id, row.role, row.key_id, name)

    def logout(self, token: str) -> None:
        with self._db.session() as session, session.begin():
            session.execute(delete(StaffSession).where(StaffSession.token_hash == digest(token)))
