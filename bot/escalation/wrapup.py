"""Closing a case with a coded wrap-up: the outcome and, with the user's consent to be
counted, the kinds of violence, where it happened, referrals and whether a safety plan was
made. Kept apart from the case (no case or staff id, no free text, only the month), so an
indicator can never be traced back to a person."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot.escalation.errors import EscalationError
from bot.escalation.policy import CONTEXTS, OUTCOMES, VIOLENCE_KINDS
from bot.escalation.tables import Case, CaseWrapUp

_SLUG = re.compile(r"^[a-z0-9_]{1,64}$")
MAX_REFERRALS = 10
FOLLOW_UP_WITHIN = dt.timedelta(days=90)


@dataclass(frozen=True)
class WrapUp:
    outcome: str
    referred_to: str | None = None  # the main referral (the outcome "referred")
    kinds: tuple[str, ...] = ()
    contexts: tuple[str, ...] = ()
    referrals: tuple[str, ...] = ()
    safety_plan: bool = False
    consent_counted: bool = False
    follow_up_on: dt.date | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise EscalationError(f"outcome must be one of {', '.join(OUTCOMES)}")
        if (self.outcome == "referred") != bool(self.referred_to) or (
                self.referred_to and not _SLUG.match(self.referred_to)):
            raise EscalationError("'referred' needs referred_to (a contact id); others none")
        _codes(self.kinds, VIOLENCE_KINDS, "kinds")
        _codes(self.contexts, CONTEXTS, "contexts")
        if len(self.referrals) > MAX_REFERRALS or not all(
                isinstance(r, str) and _SLUG.match(r) for r in self.referrals):
            raise EscalationError(f"referrals must be at most {MAX_REFERRALS} contact ids")

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> WrapUp:
        follow_up = doc.get("follow_up_on")
        try:
            follow_up = dt.date.fromisoformat(follow_up) if follow_up else None
        except (TypeError, ValueError):
            raise EscalationError("follow_up_on must be a date (YYYY-MM-DD)") from None
        return cls(outcome=doc.get("outcome"), referred_to=doc.get("referred_to"),
                   kinds=_tuple(doc, "kinds"), contexts=_tuple(doc, "contexts"),
                   referrals=_tuple(doc, "referrals"),
                   safety_plan=_flag(doc, "safety_plan"),
                   consent_counted=_flag(doc, "consent_counted"), follow_up_on=follow_up)

    def apply(self, session: Session, case: Case, today: dt.date) -> None:
        """Set the case's outcome and follow-up, and count the codes if the user agreed."""
        if self.follow_up_on and not today <= self.follow_up_on <= today + FOLLOW_UP_WITHIN:
            raise EscalationError("a follow-up date must be within the next 90 days")
        case.outcome, case.referred_to = self.outcome, self.referred_to
        case.follow_up_on = self.follow_up_on
        if self.consent_counted:
            referrals = sorted(set(self.referrals) | ({self.referred_to} - {None}))
            session.add(CaseWrapUp(
                month=today.strftime("%Y-%m"), channel=case.channel or "unknown",
                outcome=self.outcome, kinds=",".join(sorted(set(self.kinds))),
                contexts=",".join(sorted(set(self.contexts))), referrals=",".join(referrals),
                safety_plan=self.safety_plan, follow_up=self.follow_up_on is not None))


def _codes(values: tuple[str, ...], allowed: tuple[str, ...], name: str) -> None:
    if not all(value in allowed for value in values):
        raise EscalationError(f"{name} must be among {', '.join(allowed)}")


def _tuple(doc: dict, name: str) -> tuple[str, ...]:
    value = doc.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EscalationError(f"{name} must be a list of codes")
    return tuple(value)


def _flag(doc: dict, name: str) -> bool:
    value = doc.get(name, False)
    if not isinstance(value, bool):
        raise EscalationError(f"{name} must be true or false")
    return value
