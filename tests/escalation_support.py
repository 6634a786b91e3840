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
    message = login_message(nonce, key_id, service.policy.origins()[0])
    token, _, _ = service.sessions.login(key_id, nonce, identity.sign(message))
    return service.sessions.authenticate(token)


def admin_principal(service: EscalationService, admin: PrivateIdentity) -> Principal:
    return log_in(service, admin, PublicIdentity(b"", admin.public().ed25519).key_id)


def enrol(service: EscalationService, admin: PrivateIdentity, name: str,
          role: str = "counselor", notify: str | None = None, alias: str | None = "Mai"
          ) -> tuple[PrivateIdentity, Principal]:
    """An approved, logged-in staff member (notified at ``notify``, e.g. "telegram:1")."""
    staff_id, code = service.staff.invite(admin_principal(service, admin), name, role)
    identity = PrivateIdentity.generate()
    service.staff.enrol(code, identity.public(), alias)
    service.staff.approve(admin_principal(service, admin), identity.public().key_id,
                          crypto.sign_approval(admin, identity.public(), staff_id, role))
    principal = log_in(service, identity)
    if notify:
        service.staff.set_notify_chat(principal, notify)
    return identity, principal


def rotate(service: EscalationService, admin: PrivateIdentity, principal: Principal
           ) -> tuple[PrivateIdentity, Principal]:
    """A staff member's new key, approved by the admin, who retires the old one."""
    identity = PrivateIdentity.generate()
    service.staff.add_key(principal, identity.public())
    service.staff.approve(admin_principal(service, admin), identity.public().key_id,
                          crypto.sign_approval(admin, identity.public(), principal.staff_id,
                                               principal.role),
                          revocations(service, admin, principal.staff_id, "retired",
                                      keep=identity.public().key_id))
    return identity, log_in(service, identity)


def revocations(service: EscalationService, admin: PrivateIdentity, staff_id: str,
                reason: str, keep: str | None = None) -> list[dict]:
    """What `antam admin` signs to retire or remove a person's approved keys."""
    at = crypto.iso_utc(service.clock())
    signed = []
    for key in service.staff.keys(staff_id=staff_id):
        if key["approval"] and not key["revocation"] and key["key_id"] != keep:
            identity = PublicIdentity.from_json(key)
            signed.append({"key_id": key["key_id"], "revoked_at": at,
                           "signature": crypto.sign_revocation(admin, identity, staff_id,
                                                               reason, at)})
    return signed


def remove(service: EscalationService, admin: PrivateIdentity, staff_id: str) -> None:
    service.staff.remove(admin_principal(service, admin), staff_id,
                         revocations(service, admin, staff_id, "removed"))
