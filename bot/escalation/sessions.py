"""Staff log-in: a one-time challenge signed with the person's Ed25519 key, then a session.

A session is something only this server process can issue: its row carries an HMAC under
ANTAM_SESSION_KEY (from the environment, never the database), over the token's hash and
everything the row claims (who, which role, which key, until when). On every request the
key's approval and revocation and the person's status are checked again, so a session ends
when its key is retired or revoked, its owner removed, or its admin key leaves
ANTAM_ADMIN_KEYS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable

from sqlalchemy import delete, func, select

from bot.escalation import crypto
from bot.escalation.audit import AuditLog
from bot.escalation.crypto import login_message
from bot.escalation.errors import TooManyRequests, Unauthorized
from bot.escalation.policy import EscalationPolicy
from bot.escalation.staff import StaffDirectory
from bot.escalation.tables import LoginChallenge, Staff, StaffKey, StaffSession
from bot.escalation.views import Principal
from bot.storage import Database

CHALLENGE_TTL = dt.timedelta(minutes=5)
CHALLENGES_PER_KEY = 5  # outstanding; older ones are dropped
CHALLENGES_IN_ALL = 10_000  # beyond this, refuse until some expire


class Sessions:
    def __init__(self, database: Database, staff: StaffDirectory, policy: EscalationPolicy,
                 audit: AuditLog, clock: Callable[[], dt.datetime], session_key: bytes):
        self._db = database
        self._staff = staff
        self._policy = policy
        self._audit = audit
        self._clock = clock
        self._key = session_key

    # ----------------------------------------------------------------- log-in

    def challenge(self, key_id: str) -> str:
        """A one-time nonce to sign; at most a few outstanding per key, and a bounded table."""
        now = self._clock()
        with self._db.session() as session, session.begin():
            if self._staff.login_identity(session, key_id) is None:
                raise Unauthorized("unknown or inactive key")
            session.execute(delete(LoginChallenge).where(LoginChallenge.expires_at < now))
            mine = session.scalars(select(LoginChallenge.nonce)
                                   .where(LoginChallenge.key_id == key_id)
                                   .order_by(LoginChallenge.expires_at.desc())).all()
            stale = mine[CHALLENGES_PER_KEY - 1:]
            if stale:
                session.execute(delete(LoginChallenge).where(LoginChallenge.nonce.in_(stale)))
            if session.scalar(select(func.count()).select_from(LoginChallenge)) >= \
                    CHALLENGES_IN_ALL:
                raise TooManyRequests("too many log-ins in progress: try again shortly")
            nonce = secrets.token_urlsafe(32)
            session.add(LoginChallenge(nonce=nonce, key_id=key_id,
                                       expires_at=now + CHALLENGE_TTL))
        return nonce

    def login(self, key_id: str, nonce: str, signature: str) -> tuple[str, dt.datetime, str]:
        """A session token for a challenge signed for this server's origin:
        (token, expires_at, role)."""
        with self._db.session() as session, session.begin():
            challenge = session.get(LoginChallenge, nonce)
            if challenge is not None:
                session.delete(challenge)  # single use, even when the signature is wrong
            found = self._staff.login_identity(session, key_id)
            if (challenge is None or challenge.key_id != key_id
                    or challenge.expires_at < self._clock() or found is None):
                raise Unauthorized("unknown or expired challenge")
            staff_id, role, ed25519 = found
            if not any(crypto.verify_signature(ed25519, login_message(nonce, key_id, origin),
                                               signature) for origin in self._policy.origins()):
                raise Unauthorized("the signature does not verify for this server")
            token = secrets.token_urlsafe(32)
            expires = (self._clock() + dt.timedelta(minutes=self._policy.session_minutes)
                       ).replace(microsecond=0)
            row = StaffSession(token_hash=self._token_hash(token), staff_id=staff_id, role=role,
                               key_id=key_id, expires_at=expires)
            row.mac = self._row_mac(row)
            session.add(row)
            self._audit.record(session, staff_id, "login")
        return token, expires, role

    def logout(self, token: str) -> None:
        with self._db.session() as session, session.begin():
            session.execute(delete(StaffSession).where(
                StaffSession.token_hash == self._token_hash(token)))

    # ----------------------------------------------------------------- every request

    def authenticate(self, token: str) -> Principal:
        """The caller, if the token is a session this server issued and its holder may still
        act; otherwise Unauthorized (the same answer whatever the reason)."""
        with self._db.session() as session:
            row = session.get(StaffSession, self._token_hash(token or ""))
            if row is None or not hmac.compare_digest(row.mac or "", self._row_mac(row)):
                raise Unauthorized("not logged in")
            if row.expires_at < self._clock():
                raise Unauthorized("session expired: log in again")
            if row.role == "admin":
                if (row.staff_id != f"admin:{row.key_id}"
                        or self._staff.is_admin_key(row.key_id) is None):
                    raise Unauthorized("this admin key is no longer configured")
                return Principal(row.staff_id, "admin", row.key_id, "Quản trị viên")
            found = session.execute(
                select(StaffKey, Staff).join(Staff, Staff.id == StaffKey.staff_id)
                .where(StaffKey.key_id == row.key_id, StaffKey.status == "active",
                       Staff.status == "active")).first()
            if (found is None or found[1].id != row.staff_id or found[1].role != row.role
                    or not self._staff.usable(session, [found])):
                raise Unauthorized("this session's key or person is no longer active")
            return Principal(row.staff_id, row.role, row.key_id, found[1].display_name)

    # ----------------------------------------------------------------- MACs

    def _token_hash(self, token: str) -> str:
        return hmac.new(self._key, b"antam-session-token\0" + token.encode(),
                        hashlib.sha256).hexdigest()

    def _row_mac(self, row: StaffSession) -> str:
        fields = (row.token_hash, row.staff_id, row.role, row.key_id,
                  row.expires_at.replace(microsecond=0).isoformat())
        return hmac.new(self._key, "\0".join(("antam-session-v1",) + fields).encode(),
                        hashlib.sha256).hexdigest()
