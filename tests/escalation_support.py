"""Enrolling staff straight through the service, as the API would, for tests that need a
counselor but are not about enrolment."""

from __future__ import annotations

from bot.escalation import crypto
from bot.escalation.crypto import PrivateIdentity, PublicIdentity, login_message
from bot.escalation.service import EscalationService
from bot.escalation.views import Principal


def log_in(service: EscalationService, identity: PrivateIdentity,
           key_id: str | None = None) -> Principal:
    key_id = key_id or identity.public().key_id
    nonce = service.sessions.challenge(key_id)
    token, _, _ = service.sessions.login(key_id, nonce,
                                         identity.sign(login_message(nonce, key_id)))
    return service.sessions.authenticate(token)


def admin_principal(service: EscalationService, admin: PrivateIdentity) -> Principal:
    return log_in(service, admin, PublicIdentity(b"", admin.public().ed25519).key_id)


def enrol(service: EscalationService, admin: PrivateIdentity, name: str,
          role: str = "counselor", notify: str | None = None
          ) -> tuple[PrivateIdentity, Principal]:
    """An approved, logged-in staff member (notified at ``notify``, e.g. "telegram:1")."""
    staff_id, code = service.staff.invite(admin_principal(service, admin), name, role)
    identity = PrivateIdentity.generate()
    service.staff.enrol(code, identity.public())
    service.staff.approve(admin_principal(service, admin), identity.public().key_id,
                          crypto.sign_approval(admin, identity.public(), staff_id, role))
    principal = log_in(service, identity)
    if notify:
        service.staff.set_notify_chat(principal, notify)
    return identity, principal
