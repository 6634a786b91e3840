"""Value objects the escalation parts hand to their callers: never case content."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.escalation.errors import EscalationError, Forbidden
from bot.escalation.policy import READER_ROLES
from bot.escalation.tables import Case

_MAX_NAME = 80


@dataclass(frozen=True)
class Principal:
    """Who is calling, as established by a verified session."""

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
    claimed_by: str | None  # the holder's display name (for colleagues)
    outcome: str | None
    holder: str | None = None  # the holder's staff id
    last_user_at: dt.datetime | None = None  # when the user last wrote (their state)

    def as_json(self) -> dict:
        return {"code": self.code, "risk": self.risk, "status": self.status,
                "created_at": self.created_at.isoformat() + "Z",
                "claimed_by": self.claimed_by, "holder": self.holder, "outcome": self.outcome,
                "last_user_at": self.last_user_at.isoformat() + "Z"
                if self.last_user_at else None}


@dataclass(frozen=True)
class Ticket:
    """What the user is told after asking for a counselor."""

    case_id: str
    code: str
    risk: str
    position: int  # 1 = next in line
    expected_wait_min: int


@dataclass(frozen=True)
class UserRoute:
    """How to reach the user of a case: the server reads it back to deliver, never logs it."""

    address: str  # "telegram:<chat id>", "zalo:<user id>"
    subject: str  # "user:<pseudonym>": whose data key guards what is held for them
    discreet: bool  # a neutral notice on the lock screen, the text only on "Xem"


@dataclass(frozen=True)
class Reminder:
    code: str
    risk: str
    kind: str  # "renotify" (counselors again) or "escalate" (supervisors)
    route: UserRoute | None  # set when the user is also told (silently), within their cap


def case_view(case: Case, names: dict[str, str] | None = None) -> CaseView:
    claimed = (names or {}).get(case.claimed_by or "", case.claimed_by)
    return CaseView(case.code, case.risk, case.status, case.created_at, claimed, case.outcome,
                    case.claimed_by, case.last_user_at)


def require_role(principal: Principal, role: str) -> None:
    if principal.role != role:
        raise Forbidden(f"this needs the {role} role")


def require_staff(principal: Principal) -> None:
    """Admins from ANTAM_ADMIN_KEYS have no staff record: no keys or chats to manage."""
    if principal.staff_id.startswith("admin:"):
        raise Forbidden("an admin key from the environment has no staff record")


def require_reader(principal: Principal) -> None:
    if principal.role not in READER_ROLES:
        raise Forbidden("this needs the counselor or supervisor role")


def clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > _MAX_NAME:
        raise EscalationError(f"a display name needs 1–{_MAX_NAME} characters")
    return name
