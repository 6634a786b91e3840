"""The escalation's state and rules, one part per noun, wired together here.

Synchronous and database-bound (async callers go through ``EscalationHub.run``). No part
ever sees a counselor's private key: case content is sealed to the public keys of
approved readers and opened only on their devices.

- ``staff``: invitations, keys, approvals, removal, who may read
- ``sessions``: signed-challenge log-in and sessions
- ``cases``: the queue, claims, the sealed relay, outcomes, waiting-case timers
- ``retention``: retention of finished cases and the user's own wipe
- ``indicators``: counts for the programme, without identifiers
- ``audit``: who did what, without content
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bot.escalation.audit import AuditLog
from bot.escalation.cases import CaseBook
from bot.escalation.envelope import Keyring
from bot.escalation.indicators import Indicators
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
    retention: Retention
    indicators: Indicators


def build_service(database: Database, keyring: Keyring, admin_keys: tuple[bytes, ...],
                  policy: EscalationPolicy,
                  clock: Callable[[], dt.datetime] = utcnow) -> EscalationService:
    vault = SubjectVault(database, keyring, clock)
    audit = AuditLog(database, clock)
    staff = StaffDirectory(database, vault, admin_keys, policy, audit, clock)
    cases = CaseBook(database, staff, vault, policy, audit, clock)
    return EscalationService(
        policy=policy, vault=vault, audit=audit, staff=staff,
        sessions=Sessions(database, staff, policy, audit, clock),
        cases=cases,
        retention=Retention(database, cases, vault, policy, audit, clock),
        indicators=Indicators(database))
