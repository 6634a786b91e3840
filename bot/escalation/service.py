"""The escalation's state and rules, one part per noun, wired together here.

Synchronous and database-bound (async callers go through ``EscalationHub.run``). No part
ever sees a counselor's private key: case content is sealed to the public keys of
approved readers and opened only on their devices.

- ``staff``: invitations, keys, approvals, removal, who may read
- ``sessions``: signed-challenge log-in and sessions
- ``cases``: the queue, claims, the sealed and signed relay, outcomes, waiting-case timers
- ``held``: messages held for a user who chose discreet delivery
- ``notes``: private notes sealed on staff devices
- ``handovers``: passing a case to a colleague, back to the queue, or to a supervisor
- ``retention``: retention of finished cases and the user's own wipe
- ``indicators``: counts for the programme, without identifiers
- ``audit``: who did what, without content
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.escalation.audit import AuditLog
from bot.escalation.cases import CaseBook
from bot.escalation.envelope import Keyring
from bot.escalation.handover import Handovers
from bot.escalation.held import HeldMessages
from bot.escalation.indicators import Indicators
from bot.escalation.notes import CaseNotes
from bot.escalation.policy import EscalationPolicy
from bot.escalation.retention import Retention
from bot.escalation.sessions import Sessions
from bot.escalation.staff import StaffDirectory
from bot.escalation.vault import SubjectVault
from bot.storage import Database


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class EscalationService:
    policy: EscalationPolicy
    vault: SubjectVault
    audit: AuditLog
    staff: StaffDirectory
    sessions: Sessions
    cases: CaseBook
    held: HeldMessages
    notes: CaseNotes
    handovers: Handovers
    retention: Retention
    indicators: Indicators
    clock: Callable[[], dt.datetime]


@dataclass(frozen=True)
class ServerKeys:
    """Secrets the server holds outside the database (bot/escalation/policy.py loads them)."""

    data: Keyring  # wraps per-subject data keys
    signing: Ed25519PrivateKey  # signs sealed items; clients pin its public half
    session: bytes  # MACs staff sessions

    @classmethod
    def ephemeral(cls) -> ServerKeys:
        """Fresh keys held in memory only (tests and benchmarks)."""
        return cls(Keyring.from_spec(Keyring.generate_spec()), Ed25519PrivateKey.generate(),
                   os.urandom(32))


def build_service(database: Database, keys: ServerKeys, admin_keys: tuple[bytes, ...],
                  policy: EscalationPolicy,
                  clock: Callable[[], dt.datetime] = utcnow) -> EscalationService:
    vault = SubjectVault(database, keys.data, clock)
    audit = AuditLog(database, clock)
    staff = StaffDirectory(database, vault, admin_keys, policy, audit, clock)
    cases = CaseBook(database, staff, vault, policy, audit, clock, keys.signing)
    notes = CaseNotes(database, cases, staff, audit, clock)
    return EscalationService(
        policy=policy, vault=vault, audit=audit, staff=staff,
        sessions=Sessions(database, staff, policy, audit, clock, keys.session),
        cases=cases, held=HeldMessages(database, vault, clock),
        notes=notes, handovers=Handovers(database, cases, staff, notes, audit, clock),
        retention=Retention(database, cases, vault, policy, audit, clock),
        indicators=Indicators(database), clock=clock)
