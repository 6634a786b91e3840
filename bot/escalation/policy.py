"""Escalation settings and server keys from the environment (documented in `.env.example`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.escalation.crypto import CryptoError, b64d, b64e, origin_of
from bot.escalation.envelope import Keyring
from bot.secretfile import env_or_generated

# Most urgent first: the queue is ordered by this rank, then by age.
RISK_RANK = {"danger": 0, "self_harm": 0, "high": 1, "standard": 2}
OUTCOMES = ("information_given", "referred", "safety_plan", "callback_done",
            "could_not_reach", "user_ended")
# Wrap-up codes (coded, never free text): the kind of violence, kept apart from where it
# happened, following the GBVIMS classification the programme reports in.
VIOLENCE_KINDS = ("physical", "sexual", "psychological", "economic", "online",
                  "workplace_sexual_harassment")
CONTEXTS = ("domestic", "workplace", "public", "online")
# Editors propose content changes and reviewers approve them (bot/editorial/); neither
# reads cases, nor sees the queue.
# Programme managers read the protected indicators (bot/indicators/), nothing else.
ROLES = ("counselor", "supervisor", "admin", "editor", "reviewer", "manager")
READER_ROLES = ("counselor", "supervisor")
QUEUE_ROLES = (*READER_ROLES, "admin")  # who hears of queue changes


def _minutes(name: str, default: float) -> float:
    value = float(os.environ.get(name, "").strip() or default)
    if value <= 0:
        raise ValueError(f"{name} must be positive")
    return value


def parse_admin_keys(spec: str) -> tuple[bytes, ...]:
    """ANTAM_ADMIN_KEYS: comma-separated base64url Ed25519 public keys (from `antam admin init`),
    in the strict encoding: a mistyped key is refused, never read as another one."""
    keys = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        try:
            raw = b64d(item)
        except CryptoError:
            raise ValueError("ANTAM_ADMIN_KEYS: a key is not valid base64url") from None
        if len(raw) != 32:
            raise ValueError("ANTAM_ADMIN_KEYS: every key must be 32 bytes (Ed25519)")
        keys.append(raw)
    return tuple(keys)


def parse_public_key(text: str) -> bytes:
    """One Ed25519 public key in base64url (a pinned server or admin key)."""
    keys = parse_admin_keys(text)
    if len(keys) != 1:
        raise ValueError("exactly one key is expected")
    return keys[0]


@dataclass(frozen=True)
class EscalationPolicy:
    renotify_after_min: float = 5.0
    escalate_after_min: float = 15.0
    retention_days: float = 90.0
    session_minutes: float = 480.0
    enrolment_hours: float = 72.0
    minutes_per_case: float = 10.0  # for the user's expected-wait estimate
    api_port: int = 8788
    user_reminders: int = 1  # at most this many "still waiting" messages to a user, silent
    api_origins: tuple[str, ...] = ()  # where clients reach the API; signed into every log-in
    idle_lock_minutes: float = 10.0  # an untouched workspace drops its keys after this

    def origins(self) -> tuple[str, ...]:
        """The API's origins as clients see them (behind the proxy), loopback by default."""
        return self.api_origins or (f"http://127.0.0.1:{self.api_port}",
                                    f"http://localhost:{self.api_port}")

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
            user_reminders=int(os.environ.get("ANTAM_USER_REMINDERS", "").strip() or 1),
            api_origins=tuple(origin_of(o) for o in os.environ.get(
                "ANTAM_API_ORIGINS", "").split(",") if o.strip()),
            idle_lock_minutes=_minutes("ANTAM_IDLE_LOCK_MINUTES", 10),
        )


def data_keyring(var_dir: Path) -> Keyring:
    """ANTAM_DATA_KEYS, else a keyring generated once into var/ (mode 0600) for `make run`."""
    return Keyring.from_spec(env_or_generated("ANTAM_DATA_KEYS", var_dir, "data-keys.key",
                                              lambda: Keyring.generate_spec("k1")))


def signing_key(var_dir: Path) -> Ed25519PrivateKey:
    """ANTAM_SIGNING_KEY: the server's Ed25519 key for the items it seals (base64url seed)."""
    seed = env_or_generated("ANTAM_SIGNING_KEY", var_dir, "signing.key",
                            lambda: b64e(Ed25519PrivateKey.generate().private_bytes_raw()))
    try:
        return Ed25519PrivateKey.from_private_bytes(b64d(seed))
    except (CryptoError, ValueError):
        raise ValueError("ANTAM_SIGNING_KEY must be 32 bytes in base64url") from None


def session_key(var_dir: Path) -> bytes:
    """ANTAM_SESSION_KEY: MACs staff sessions, so a row written into the database is no login."""
    text = env_or_generated("ANTAM_SESSION_KEY", var_dir, "session.key",
                            lambda: b64e(os.urandom(32)))
    try:
        key = b64d(text)
    except CryptoError:
        raise ValueError("ANTAM_SESSION_KEY must be base64url") from None
    if len(key) < 32:
        raise ValueError("ANTAM_SESSION_KEY must hold at least 32 bytes")
    return key


def admin_keys_from_env() -> tuple[bytes, ...]:
    return parse_admin_keys(os.environ.get("ANTAM_ADMIN_KEYS", ""))
