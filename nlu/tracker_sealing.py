"""Conversation state sealed before it leaves the Rasa process.

A tracker shared through Redis holds what the user typed. It is written only as AES-256-GCM
ciphertext under a key from the environment (ANTAM_TRACKER_KEY), bound to the conversation's
key so that a blob cannot be moved to another conversation. Rotation: the variable may hold
several comma-separated secrets; the first seals, every one of them opens.

It runs inside Rasa (Python 3.10); it must not import ``bot``.
"""

from __future__ import annotations

import hashlib
import os
from typing import List

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
KEY_ID_BYTES = 4
NONCE_BYTES = 12
KEY_ENV = "ANTAM_TRACKER_KEY"


class SealError(Exception):
    """A stored tracker that cannot be opened with any current key, or was altered."""


class _Key:
    def __init__(self, secret: str) -> None:
        material = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                        info=b"antam tracker store v1").derive(secret.encode())
        self.aead = AESGCM(material)
        # Names the key in each blob without revealing it: a hash of the derived key.
        self.key_id = hashlib.sha256(material).digest()[:KEY_ID_BYTES]


class TrackerSeal:
    def __init__(self, secrets: List[str]) -> None:
        keys = [_Key(s) for s in secrets if s.strip()]
        if not keys:
            raise ValueError(f"{KEY_ENV} is empty: shared trackers must be encrypted")
        self._sealing = keys[0]
        self._by_id = {key.key_id: key for key in keys}

    @classmethod
    def from_env(cls) -> TrackerSeal:
        return cls(os.environ.get(KEY_ENV, "").split(","))

    def seal(self, name: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        header = VERSION + self._sealing.key_id
        return header + nonce + self._sealing.aead.encrypt(nonce, plaintext,
                                                           header + name.encode())

    def open(self, name: str, blob: bytes) -> bytes:
        header, rest = blob[:1 + KEY_ID_BYTES], blob[1 + KEY_ID_BYTES:]
        key: _Key | None = self._by_id.get(header[1:]) if header[:1] == VERSION else None
        if key is None:
            raise SealError("sealed under a key this instance does not hold")
        try:
            return key.aead.decrypt(rest[:NONCE_BYTES], rest[NONCE_BYTES:],
                                    header + name.encode())
        except Exception as error:  # InvalidTag: altered, or sealed for another conversation
            raise SealError("the stored tracker does not authenticate") from error
