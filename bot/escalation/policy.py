"""Escalation settings from the environment (documented in `.env.example`)."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from bot.escalation.envelope import Keyring

# Most urgent first: the queue is ordered by this rank, then by age.
RISK_RANK = {"danger": 0, "self_harm": 0, "high": 1, "standard": 2}
OUTCOMES = ("information_given", "referred", "safety_plan", "callback_done",
            "could_not_reach", "user_ended")
ROLES = ("counselor", "supervisor", "admin")
READER_ROLES = ("counselor", "supervisor")


def _minutes(name: str, default: float) -> float:
    value = float(os.environ.get(name, "").strip() or default)
    if value <= 0:
        raise ValueError(f"{name} must be positive")
    return value


def parse_admin_keys(spec: str) -> tuple[bytes, ...]:
    """ANTAM_ADMIN_KEYS: comma-separated base64url Ed25519 public keys (from `antam admin init`)."""
    keys = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        raw = base64.urlsafe_b64decode(item + "=" * (-len(item) % 4))
        if len(raw) != 32:
            raise ValueError("ANTAM_ADMIN_KEYS: every key must be 32 bytes (Ed25519)")
        keys.append(raw)
    return tuple(keys)


@dataclass(frozen=True)
class EscalationPolicy:
    renotify_after_min: float = 5.0
    escalate_after_min: float = 15.0
    retention_days: float = 90.0
    session_minutes: float = 480.0
    enrolment_hours: float = 72.0
    minutes_per_case: float = 10.0  # for the user's expected-wait estimate
    api_port: int = 8788

    @classmethod
    def from_env(cls) -> EscalationPolicy:
        return cls(
            renotify_after_min=_minutes("ANTAM_RENOTIFY_MINUTES", 5),
            escalate_after_min=_minutes("ANTAM_ESCALATE_MINUTES", 15),
            retention_days=_minutes("ANTAM_CASE_RETENTION_DAYS", 90),
            session_minutes=_minutes("ANTAM_SESSION_MINUTES", 480),
            enrolment_hours=_minutes("ANTAM_ENROLMENT_HOURS", 72),
            minutes_per_case=_minutes("ANTAM_MINUTES_PER_CASE", 10),
            api_port=int(os.environ.get("ANTAM_API_PORT", "").strip() or 8788),
        )


def data_keyring(var_dir: Path) -> Keyring:
    """ANTAM_DATA_KEYS, else a keyring generated once into var/ (mode 0600) for `make run`."""
    spec = os.environ.get("ANTAM_DATA_KEYS", "").strip()
    if spec:
        return Keyring.from_spec(spec)
    path = var_dir / "data-keys.key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(Keyring.generate_spec("k1") + "\n")
    return Keyring.from_spec(path.read_text(encoding="ascii").strip())


def admin_keys_from_env() -> tuple[bytes, ...]:
    return parse_admin_keys(os.environ.get("ANTAM_ADMIN_KEYS", ""))
