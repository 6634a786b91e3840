"""The client's home directory: server config, wrapped identities and the session.

Layout (directory 0700, files 0600):
  config.json               {"server": url, "admin_keys": [base64url Ed25519, ...]}
  identities/<key_id>.json  {"v": 1, "kind", "created_at", "wrapped": wrap_identity(...)}
  session.json              {"token", "expires_at", "key_id", "role"}

Private keys are only ever written wrapped under the person's passphrase
(Argon2id by default), never in the clear.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from bot.escalation.crypto import (
    KDF_PARAMS,
    SCRYPT_PARAMS,
    CryptoError,
    PrivateIdentity,
    PublicIdentity,
    unwrap_identity,
    wrap_identity,
)

ENV_HOME = "ANTAM_COUNSELOR_HOME"
DEFAULT_HOME = "~/.config/antam-counselor"
KINDS = ("counselor", "admin")


class KeystoreError(Exception):
    """A local problem, worded in Vietnamese for the person at the keyboard."""


@functools.cache
def default_kdf() -> dict[str, Any]:
    """Argon2id where this machine's OpenSSL has it, else the scrypt fallback."""
    try:
        Argon2id(salt=b"\0" * 16, length=32, iterations=1, lanes=1, memory_cost=8).derive(b"x")
    except UnsupportedAlgorithm:
        return dict(SCRYPT_PARAMS)
    return dict(KDF_PARAMS)


def resolve_home(option: str | None) -> Path:
    return Path(option or os.environ.get(ENV_HOME) or DEFAULT_HOME).expanduser()


def _write_private(path: Path, doc: dict) -> None:
    """Atomically replace ``path`` with a file only its owner can read."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # in case the file existed with wider permissions
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(doc, handle, ensure_ascii=False, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    os.replace(tmp, path)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        raise KeystoreError(f"Không đọc được tệp {path.name}: tệp bị hỏng.") from None


@dataclass(frozen=True)
class StoredIdentity:
    kind: str
    created_at: str
    wrapped: dict

    @property
    def key_id(self) -> str:
        return self.wrapped["key_id"]

    @property
    def public(self) -> PublicIdentity:
        return PublicIdentity.from_json(self.wrapped.get("public"))

    def unlock(self, passphrase: str) -> PrivateIdentity:
        """Raises crypto.WrongPassphrase on a wrong passphrase."""
        return unwrap_identity(self.wrapped, passphrase)


class Keystore:
    def __init__(self, home: Path, kdf: dict | None = None):
        self.home = home
        self._kdf = kdf

    # ----------------------------------------------------------------- layout

    def _ensure_dirs(self) -> None:
        for directory in (self.home, self.home / "identities"):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            directory.chmod(0o700)

    @property
    def _config_path(self) -> Path:
        return self.home / "config.json"

    @property
    def _session_path(self) -> Path:
        return self.home / "session.json"

    # ----------------------------------------------------------------- config

    def config(self) -> dict:
        doc = _read(self._config_path)
        return doc if isinstance(doc, dict) else {}

    def save_config(self, **values: Any) -> None:
        self._ensure_dirs()
        _write_private(self._config_path, {**self.config(), **values})

    # ----------------------------------------------------------------- identities

    def identities(self, kind: str) -> list[StoredIdentity]:
        """This kind's identities, newest first."""
        found = []
        for path in sorted((self.home / "identities").glob("k*.json")):
            doc = _read(path)
            if isinstance(doc, dict) and doc.get("kind") == kind and isinstance(
                    doc.get("wrapped"), dict):
                found.append(StoredIdentity(kind, str(doc.get("created_at", "")),
                                            doc["wrapped"]))
        return sorted(found, key=lambda stored: stored.created_at, reverse=True)

    def add_identity(self, identity: PrivateIdentity, passphrase: str,
                     kind: str) -> StoredIdentity:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        wrapped = wrap_identity(identity, passphrase, self._kdf or default_kdf())
        stored = StoredIdentity(kind, dt.datetime.now(dt.UTC).isoformat(), wrapped)
        self._ensure_dirs()
        _write_private(self._identity_path(stored.key_id),
                       {"v": 1, "kind": kind, "created_at": stored.created_at,
                        "wrapped": wrapped})
        return stored

    def remove_identity(self, key_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._identity_path(key_id).unlink()

    def _identity_path(self, key_id: str) -> Path:
        if not key_id.isalnum():
            raise CryptoError("malformed key id")
        return self.home / "identities" / f"{key_id}.json"

    # ----------------------------------------------------------------- session

    def session(self) -> dict | None:
        doc = _read(self._session_path)
        return doc if isinstance(doc, dict) else None

    def save_session(self, token: str, expires_at: str, key_id: str, role: str) -> None:
        self._ensure_dirs()
        _write_private(self._session_path, {"token": token, "expires_at": expires_at,
                                            "key_id": key_id, "role": role})

    def clear_session(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._session_path.unlink()
