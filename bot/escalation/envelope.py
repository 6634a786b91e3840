"""Server-side envelope encryption for data the server itself must read back.

Each subject (a case, a user record) gets its own data-encryption key (DEK);
DEKs are stored wrapped under key-encryption keys (KEKs) that live only in the
environment. Deleting a subject's wrapped DEK crypto-shreds its data, backups
included. Unlike crypto.seal, this does not protect against the server.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.escalation.crypto import CryptoError, TamperError, b64d, b64e

_KID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_KEY_LEN = 32
_NONCE_LEN = 12
_TAG_LEN = 16


def _dek_aad(subject: str) -> bytes:
    # Binds a wrapped DEK to its subject: pasted onto another row it fails.
    return b"antam-dek-v1\0" + subject.encode("utf-8")


def _check_kid(kid: str) -> str:
    if not isinstance(kid, str) or not _KID_RE.fullmatch(kid):
        raise ValueError(f"key id {kid!r} must be 1-32 characters of [A-Za-z0-9_-]")
    return kid


def _parse_key(kid: str, text: str) -> bytes:
    # Also accept standard/padded base64 (e.g. `openssl rand -base64 32`).
    # Error messages name the key id only, never the key material.
    normalised = text.strip().rstrip("=").replace("+", "-").replace("/", "_")
    try:
        key = b64d(normalised)
    except CryptoError:
        raise ValueError(f"key {kid!r} is not valid base64") from None
    if len(key) != _KEY_LEN:
        raise ValueError(f"key {kid!r} must be {_KEY_LEN} bytes, got {len(key)}")
    return key


class Keyring:
    """Key-encryption keys from the environment; the first one encrypts, all decrypt (rotation)."""

    __slots__ = ("_keys", "_current")

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("keyring is empty: at least one key is required")
        self._keys: dict[str, AESGCM] = {}
        for kid, key in keys:
            _check_kid(kid)
            if kid in self._keys:
                raise ValueError(f"duplicate key id {kid!r}")
            if not isinstance(key, bytes) or len(key) != _KEY_LEN:
                raise ValueError(f"key {kid!r} must be {_KEY_LEN} bytes")
            self._keys[kid] = AESGCM(key)
        self._current = keys[0][0]

    def __repr__(self) -> str:
        # Never the key bytes: this may end up in logs or crash reports.
        return f"Keyring(current={self._current!r}, ids={list(self._keys)!r})"

    @classmethod
    def from_spec(cls, spec: str) -> Keyring:
        """Parse "kid1:<b64 32 bytes>,kid0:<b64 32 bytes>" (newest first)."""
        if not isinstance(spec, str) or not spec.strip():
            raise ValueError("keyring spec is empty")
        keys: list[tuple[str, bytes]] = []
        for position, entry in enumerate(spec.split(","), start=1):
            if not entry.strip():
                continue  # tolerate a trailing comma
            kid, sep, text = entry.strip().partition(":")
            if not sep:
                raise ValueError(f"keyring entry {position} is not of the form id:base64key")
            kid = _check_kid(kid.strip())
            keys.append((kid, _parse_key(kid, text)))
        return cls(keys)

    @staticmethod
    def generate_spec(kid: str = "k1") -> str:
        """A fresh one-key spec; prepend it to an existing spec to rotate."""
        return f"{_check_kid(kid)}:{b64e(os.urandom(_KEY_LEN))}"

    @property
    def current_id(self) -> str:
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def wrap(self, dek: bytes, subject: str) -> str:
        if not isinstance(dek, bytes) or len(dek) != _KEY_LEN:
            raise ValueError(f"a DEK must be {_KEY_LEN} bytes")
        nonce = os.urandom(_NONCE_LEN)
        sealed = self._keys[self._current].encrypt(nonce, dek, _dek_aad(subject))
        return f"{self._current}.{b64e(nonce + sealed)}"

    def unwrap(self, token: str, subject: str) -> bytes:
        kid, blob = _split_token(token)
        aead = self._keys.get(kid)
        if aead is None:
            raise TamperError(f"unknown key id {kid!r}")
        try:
            dek = aead.decrypt(blob[:_NONCE_LEN], blob[_NONCE_LEN:], _dek_aad(subject))
        except InvalidTag as exc:
            raise TamperError("wrapped key failed authentication") from exc
        if len(dek) != _KEY_LEN:
            raise TamperError("wrapped key has the wrong length")
        return dek

    def needs_rewrap(self, token: str) -> bool:
        return _split_token(token)[0] != self._current

    def rewrap(self, token: str, subject: str) -> str:
        """Re-encrypt under the current key, so old keys can be retired."""
        return self.wrap(self.unwrap(token, subject), subject)


def _split_token(token: str) -> tuple[str, bytes]:
    if not isinstance(token, str):
        raise TamperError("wrapped key is not a string")
    kid, sep, text = token.partition(".")
    if not sep or not _KID_RE.fullmatch(kid):
        raise TamperError("malformed wrapped key")
    try:
        blob = b64d(text)
    except CryptoError as exc:
        raise TamperError("malformed wrapped key") from exc
    if len(blob) < _NONCE_LEN + _TAG_LEN:
        raise TamperError("wrapped key too short")
    return kid, blob


def new_dek() -> bytes:
    """A fresh data-encryption key for one subject."""
    return os.urandom(_KEY_LEN)


def seal_field(dek: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """nonce || ciphertext. Random 96-bit nonces are safe well past any one
    subject's volume (the limit is ~2**32 messages per DEK)."""
    nonce = os.urandom(_NONCE_LEN)
    return nonce + AESGCM(dek).encrypt(nonce, plaintext, aad)


def open_field(dek: bytes, blob: bytes, aad: bytes) -> bytes:
    # Database drivers may hand back memoryview/bytearray for BLOB columns.
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise TamperError("sealed field is not bytes")
    blob = bytes(blob)
    if len(blob) < _NONCE_LEN + _TAG_LEN:
        raise TamperError("sealed field too short")
    try:
        return AESGCM(dek).decrypt(blob[:_NONCE_LEN], blob[_NONCE_LEN:], aad)
    except InvalidTag as exc:
        raise TamperError("sealed field failed authentication") from exc
