"""End-to-end crypto between the bot and counselors.

The server stores only what this module produces: case content sealed to the
counselors' X25519 keys, and counselors' private keys wrapped under their own
passphrases. Every ciphertext is bound to its case, item, direction and exact
recipient list, so it cannot be moved elsewhere nor a reader silently added;
a reader needs an admin's Ed25519 signature (approvals), and an admin's
signature ends a key (revocations). The server signs each item it seals with a
key whose public half clients pin, so whoever can write to the database alone
cannot forge what a counselor reads.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

# AES-GCM rather than ChaCha20-Poly1305: counselors open cases in a browser,
# and WebCrypto has X25519, HKDF and AES-GCM but no ChaCha20.
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)

KDF_PARAMS: dict[str, Any] = {
    "name": "argon2id",
    "iterations": 3,
    "lanes": 4,
    "memory_cost": 65536,  # KiB = 64 MiB
}
# Fallback for machines whose OpenSSL lacks Argon2id (128 MiB).
SCRYPT_PARAMS: dict[str, Any] = {"name": "scrypt", "n": 2**17, "r": 8, "p": 1}

_KEY_ID_RE = re.compile(r"k[0-9a-f]{16}")
_B64_RE = re.compile(r"[A-Za-z0-9_-]*")
_AT_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_DIRECTIONS = frozenset({"case", "user", "counselor", "note"})
_NONCE_LEN = 12
_TAG_LEN = 16
_DATA_KEY_LEN = 32
_SALT_LEN = 16
# X25519 enc (32) + AES-128-GCM over a 32-byte data key (32 + 16 tag).
WRAP_LEN = 32 + _DATA_KEY_LEN + _TAG_LEN


class CryptoError(Exception):
    """Base class for every failure of this module."""


class TamperError(CryptoError):
    """Authentication or a binding check failed: the data is not what was sealed."""


class WrongPassphrase(CryptoError):
    """The passphrase does not open the wrapped identity."""


# --- encoding ---------------------------------------------------------------


def b64e(data: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    """Strict inverse of b64e: only the canonical encoding is accepted."""
    if not isinstance(text, str) or not _B64_RE.fullmatch(text) or len(text) % 4 == 1:
        raise CryptoError("invalid base64")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("invalid base64") from exc
    # Non-zero trailing bits would give one value several spellings.
    if b64e(data) != text:
        raise CryptoError("invalid base64")
    return data


def _field_b64(doc: Mapping[str, Any], key: str) -> bytes:
    """A base64 field of an untrusted document; any problem is tampering."""
    try:
        return b64d(doc[key])
    except (KeyError, TypeError, CryptoError) as exc:
        raise TamperError(f"bad or missing field {key!r}") from exc


def _require_mapping(doc: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(doc, Mapping):
        raise TamperError(f"{what} is not an object")
    return doc


def _require_version(doc: Mapping[str, Any]) -> None:
    # `type(...) is int` because True == 1 in Python.
    version = doc.get("v")
    if type(version) is not int or version != 1:
        raise TamperError("unsupported version")


# --- identities -------------------------------------------------------------


def _identity_digest(x25519: bytes, ed25519: bytes) -> bytes:
    # Lengths are fixed (0 or 32, and 32), so plain concatenation is unambiguous.
    return hashlib.sha256(b"antam-key-v1\0" + x25519 + ed25519).digest()


@dataclass(frozen=True)
class PublicIdentity:
    """A counselor's (or admin's) public keys."""

    x25519: bytes  # encryption; b"" for admins who only sign
    ed25519: bytes  # login and signatures

    def __post_init__(self) -> None:
        if not isinstance(self.x25519, bytes) or len(self.x25519) not in (0, 32):
            raise ValueError("x25519 public key must be 32 bytes (or empty for admins)")
        if not isinstance(self.ed25519, bytes) or len(self.ed25519) != 32:
            raise ValueError("ed25519 public key must be 32 bytes")

    @property
    def key_id(self) -> str:
        return "k" + _identity_digest(self.x25519, self.ed25519).hex()[:16]

    def fingerprint(self) -> str:
        """For comparing keys out of band (read aloud, on paper)."""
        digits = _identity_digest(self.x25519, self.ed25519).hex()[:32].upper()
        return " ".join(digits[i : i + 4] for i in range(0, 32, 4))

    def as_json(self) -> dict[str, str]:
        return {"key_id": self.key_id, "x25519": b64e(self.x25519), "ed25519": b64e(self.ed25519)}

    @classmethod
    def from_json(cls, doc: Any) -> PublicIdentity:
        doc = _require_mapping(doc, "public identity")
        try:
            identity = cls(_field_b64(doc, "x25519"), _field_b64(doc, "ed25519"))
        except ValueError as exc:
            raise TamperError(str(exc)) from exc
        claimed = doc.get("key_id")
        if claimed is not None and not (
            isinstance(claimed, str) and hmac.compare_digest(claimed, identity.key_id)
        ):
            raise TamperError("key_id does not match the public keys")
        return identity


@dataclass(frozen=True)
class PrivateIdentity:
    """A counselor's private keys; only ever stored wrapped (wrap_identity)."""

    x25519: X25519PrivateKey
    ed25519: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> PrivateIdentity:
        return cls(X25519PrivateKey.generate(), Ed25519PrivateKey.generate())

    def public(self) -> PublicIdentity:
        return PublicIdentity(
            self.x25519.public_key().public_bytes_raw(),
            self.ed25519.public_key().public_bytes_raw(),
        )

    def sign(self, message: bytes) -> str:
        return b64e(self.ed25519.sign(message))


def verify_signature(ed25519_public: bytes, message: bytes, signature_b64: str) -> bool:
    """True only for a valid signature; never raises on junk input."""
    try:
        key = Ed25519PublicKey.from_public_bytes(ed25519_public)
        key.verify(b64d(signature_b64), message)
    except (InvalidSignature, CryptoError, ValueError, TypeError):
        return False
    return True


# --- passphrase wrapping of a private identity --------------------------------


def _int_param(kdf: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = kdf.get(name)
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"kdf parameter {name!r} must be an integer in [{low}, {high}]")
    return value


def _derive_key(kdf: Mapping[str, Any], salt: bytes, passphrase: str) -> bytes:
    """32-byte key from a passphrase. Upper bounds stop a doctored doc from
    making a device allocate gigabytes."""
    # NFC: phone keyboards may type Vietnamese diacritics composed or not.
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    name = kdf.get("name")
    if name == "argon2id":
        return Argon2id(
            salt=salt,
            length=32,
            iterations=_int_param(kdf, "iterations", 1, 64),
            lanes=_int_param(kdf, "lanes", 1, 64),
            memory_cost=_int_param(kdf, "memory_cost", 8, 1 << 21),
        ).derive(secret)
    if name == "scrypt":
        n = _int_param(kdf, "n", 2, 1 << 22)
        if n & (n - 1):
            raise ValueError("scrypt n must be a power of two")
        return Scrypt(
            salt=salt, length=32, n=n, r=_int_param(kdf, "r", 1, 32), p=_int_param(kdf, "p", 1, 16)
        ).derive(secret)
    raise ValueError(f"unknown kdf {name!r}")


def _identity_aad(key_id: str) -> bytes:
    return b"antam-identity-v1\0" + key_id.encode("ascii")


def wrap_identity(identity: PrivateIdentity, passphrase: str, kdf: dict | None = None) -> dict:
    """Encrypt the raw private keys under a passphrase-derived key (JSON-able).

    Not PKCS#8 BestAvailableEncryption: that is PBKDF2 at 2048 iterations.
    """
    if not isinstance(passphrase, str) or not passphrase:
        raise ValueError("passphrase must be a non-empty string")
    params = {k: v for k, v in (kdf or KDF_PARAMS).items() if k != "salt"}
    salt = os.urandom(_SALT_LEN)
    key = _derive_key(params, salt, passphrase)
    public = identity.public()
    nonce = os.urandom(_NONCE_LEN)
    secret = identity.x25519.private_bytes_raw() + identity.ed25519.private_bytes_raw()
    ciphertext = AESGCM(key).encrypt(nonce, secret, _identity_aad(public.key_id))
    return {
        "v": 1,
        "key_id": public.key_id,
        "kdf": {**params, "salt": b64e(salt)},
        "nonce": b64e(nonce),
        "ciphertext": b64e(ciphertext),
        "public": public.as_json(),
    }


def unwrap_identity(doc: dict, passphrase: str) -> PrivateIdentity:
    """Inverse of wrap_identity. A doc whose key_id and public keys were
    replaced consistently cannot be told from a wrong passphrase (both fail
    the AEAD) and raises WrongPassphrase; it never yields a wrong identity."""
    doc = _require_mapping(doc, "wrapped identity")
    _require_version(doc)
    public = PublicIdentity.from_json(doc.get("public"))
    key_id = doc.get("key_id")
    if not isinstance(key_id, str) or not hmac.compare_digest(key_id, public.key_id):
        raise TamperError("key_id does not match the public keys")
    kdf = _require_mapping(doc.get("kdf"), "kdf")
    nonce = _field_b64(doc, "nonce")
    if len(nonce) != _NONCE_LEN:
        raise TamperError("bad nonce")
    try:
        key = _derive_key(kdf, _field_b64(kdf, "salt"), passphrase)
    except ValueError as exc:
        raise TamperError(f"bad kdf parameters: {exc}") from exc
    try:
        secret = AESGCM(key).decrypt(nonce, _field_b64(doc, "ciphertext"), _identity_aad(key_id))
    except InvalidTag as exc:
        raise WrongPassphrase("wrong passphrase (or damaged key file)") from exc
    if len(secret) != 64:
        raise TamperError("bad private key length")
    identity = PrivateIdentity(
        X25519PrivateKey.from_private_bytes(secret[:32]),
        Ed25519PrivateKey.from_private_bytes(secret[32:]),
    )
    if identity.public() != public:
        raise TamperError("private keys do not match the public keys")
    return identity


# --- admin approval of counselor keys -------------------------------------------


def _label(value: str, what: str) -> bytes:
    # NUL separates fields: a NUL inside one would make two messages equal.
    if not isinstance(value, str) or not value or "\0" in value:
        raise ValueError(f"{what} must be a non-empty string without NUL")
    return value.encode("utf-8")


def approval_message(identity: PublicIdentity, counselor_id: str, role: str) -> bytes:
    """Canonical bytes an admin signs to let a key read cases."""
    return b"\0".join(
        [
            b"antam-approval-v1",
            identity.key_id.encode("ascii"),
            identity.x25519 + identity.ed25519,
            _label(counselor_id, "counselor_id"),
            _label(role, "role"),
        ]
    )


def sign_approval(
    admin: PrivateIdentity, identity: PublicIdentity, counselor_id: str, role: str
) -> str:
    return admin.sign(approval_message(identity, counselor_id, role))


def approval_valid(
    admin_keys: Sequence[bytes],
    identity: PublicIdentity,
    counselor_id: str,
    role: str,
    signature: str,
) -> bool:
    """True if any admin key signed exactly this key, counselor and role."""
    try:
        message = approval_message(identity, counselor_id, role)
    except ValueError:
        return False
    return any(verify_signature(key, message, signature) for key in admin_keys)


# --- sealing case content to counselors ------------------------------------------


def recipients_digest(key_ids: Iterable[str]) -> str:
    """Order-independent digest of a recipient set, bound into every AAD."""
    ids = sorted(set(key_ids))
    # Well-formed ids cannot contain "\n", so the join is unambiguous.
    for key_id in ids:
        if not isinstance(key_id, str) or not _KEY_ID_RE.fullmatch(key_id):
            raise ValueError(f"malformed key id {key_id!r}")
    return hashlib.sha256("\n".join(ids).encode("ascii")).hexdigest()


@dataclass(frozen=True)
class SealContext:
    """Where a ciphertext belongs; opening it anywhere else fails."""

    case_id: str
    item: int  # 0 = the case itself, 1.. = relayed messages
    direction: str  # "case" | "user" | "counselor"

    def __post_init__(self) -> None:
        _label(self.case_id, "case_id")
        if type(self.item) is not int or self.item < 0:
            raise ValueError("item must be a non-negative integer")
        if self.direction not in _DIRECTIONS:
            raise ValueError(f"direction must be one of {sorted(_DIRECTIONS)}")

    def aad(self, recipient_ids: Iterable[str]) -> bytes:
        return b"\0".join(
            [
                b"antam-case-v1",
                self.case_id.encode("utf-8"),
                str(self.item).encode("ascii"),
                self.direction.encode("ascii"),
                recipients_digest(recipient_ids).encode("ascii"),
            ]
        )


def item_statement(sealed: Mapping[str, Any], context: SealContext) -> bytes:
    """What the server signs for a sealed item: where it belongs, who reads it, when it
    was sealed, and its ciphertext. Every field is ASCII without NUL (base64, ISO time,
    a well-formed AAD), so the NUL-joined bytes are unambiguous."""
    at = sealed.get("at")
    if not isinstance(at, str) or not _AT_RE.fullmatch(at):
        raise TamperError("bad or missing sealing time")
    nonce, ciphertext = sealed.get("nonce"), sealed.get("ciphertext")
    if not isinstance(nonce, str) or not isinstance(ciphertext, str):
        raise TamperError("bad or missing ciphertext")
    return b"\0".join([b"antam-item-v1", context.aad(_parse_recipients(sealed)),
                       at.encode("ascii"), nonce.encode("ascii"), ciphertext.encode("ascii")])


def sign_item(sealed: dict, context: SealContext, key: Ed25519PrivateKey, at: str) -> dict:
    """The sealed item with its sealing time and the server's signature over both."""
    doc = {**sealed, "at": at}
    doc["sig"] = b64e(key.sign(item_statement(doc, context)))
    return doc


def verify_item(sealed: Mapping[str, Any], context: SealContext, server_key: bytes) -> None:
    """Raise TamperError unless the pinned server key signed exactly this item."""
    sealed = _require_mapping(sealed, "sealed document")
    signature = sealed.get("sig")
    if not isinstance(signature, str) or not verify_signature(
            server_key, item_statement(sealed, context), signature):
        raise TamperError("the item is not signed by the pinned server key")


def _wrap_info(aad: bytes, key_id: str) -> bytes:
    return aad + b"\0" + key_id.encode("ascii")


def _recipient_map(recipients: Sequence[PublicIdentity]) -> dict[str, PublicIdentity]:
    by_id: dict[str, PublicIdentity] = {}
    for recipient in recipients:
        if not recipient.x25519:
            raise ValueError(f"{recipient.key_id} has no encryption key")
        if by_id.setdefault(recipient.key_id, recipient) != recipient:
            raise ValueError(f"two different keys share key id {recipient.key_id}")
    return by_id


def seal(plaintext: bytes, recipients: Sequence[PublicIdentity], context: SealContext) -> dict:
    """Encrypt once under a fresh data key, then wrap that key to each recipient."""
    if not recipients:
        raise ValueError("at least one recipient is required")
    by_id = _recipient_map(recipients)
    aad = context.aad(by_id)
    data_key = os.urandom(_DATA_KEY_LEN)
    nonce = os.urandom(_NONCE_LEN)  # fresh key per item, so a random nonce never repeats
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, aad)
    wraps = {
        key_id: b64e(
            SUITE.encrypt(
                data_key,
                X25519PublicKey.from_public_bytes(recipient.x25519),
                info=_wrap_info(aad, key_id),
            )
        )
        for key_id, recipient in by_id.items()
    }
    return {"v": 1, "nonce": b64e(nonce), "ciphertext": b64e(ciphertext), "recipients": wraps}


def _parse_recipients(sealed: Mapping[str, Any]) -> Mapping[str, Any]:
    wraps = _require_mapping(sealed.get("recipients"), "recipients")
    if not wraps:
        raise TamperError("no recipients")
    for key_id in wraps:
        if not isinstance(key_id, str) or not _KEY_ID_RE.fullmatch(key_id):
            raise TamperError("malformed recipient key id")
    return wraps


def open_sealed(sealed: dict, identity: PrivateIdentity, context: SealContext,
                shares: Mapping[str, str] | None = None) -> bytes:
    """Decrypt as one recipient, through the item's own wrap for this key or a wrap the
    holder added later (``shares``, after a key rotation). The AAD is rebuilt from the
    doc's own recipient list, so any change to that list breaks every wrap and the body."""
    data_key, nonce, ciphertext, aad = _unwrap(sealed, identity, context, shares)
    try:
        return AESGCM(data_key).decrypt(nonce, ciphertext, aad)
    except (InvalidTag, ValueError) as exc:
        raise TamperError("sealed item failed authentication") from exc


def share_item(sealed: dict, identity: PrivateIdentity, context: SealContext,
               to: PublicIdentity, shares: Mapping[str, str] | None = None) -> str:
    """A wrap of this item's data key for ``to`` (base64), made by a reader who can open it.
    The body and its AAD are unchanged, so the item's signature still holds."""
    open_sealed(sealed, identity, context, shares)  # only what authenticates is re-shared
    data_key, _, _, aad = _unwrap(sealed, identity, context, shares)
    if not to.x25519:
        raise ValueError(f"{to.key_id} has no encryption key")
    return b64e(SUITE.encrypt(data_key, X25519PublicKey.from_public_bytes(to.x25519),
                              info=_wrap_info(aad, to.key_id)))


def _unwrap(sealed: Any, identity: PrivateIdentity, context: SealContext,
            shares: Mapping[str, str] | None) -> tuple[bytes, bytes, bytes, bytes]:
    sealed = _require_mapping(sealed, "sealed document")
    _require_version(sealed)
    wraps = _parse_recipients(sealed)
    nonce = _field_b64(sealed, "nonce")
    ciphertext = _field_b64(sealed, "ciphertext")
    if len(nonce) != _NONCE_LEN or len(ciphertext) < _TAG_LEN:
        raise TamperError("bad nonce or ciphertext length")
    key_id = identity.public().key_id
    source = wraps if key_id in wraps else _require_mapping(shares or {}, "shares")
    if key_id not in source:
        raise TamperError("not a recipient of this item")
    wrap = _field_b64(source, key_id)
    if len(wrap) != WRAP_LEN:
        raise TamperError("bad key wrap length")
    aad = context.aad(wraps)
    try:
        data_key = SUITE.decrypt(wrap, identity.x25519, info=_wrap_info(aad, key_id))
    except (InvalidTag, ValueError) as exc:
        raise TamperError("sealed item failed authentication") from exc
    return data_key, nonce, ciphertext, aad


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, lowercase, without a default port."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL")
    default = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host.lower()}{port}"


def login_message(nonce: str, key_id: str, origin: str) -> bytes:
    """What a client signs to log in: bound to purpose, the server's origin, nonce and key,
    so a signature given to another server cannot log in to this one."""
    return f"antam-login-v2\0{origin}\0{nonce}\0{key_id}".encode()


# --- admin revocation of counselor keys -------------------------------------------

REVOCATION_REASONS = ("retired", "removed")


def revocation_message(identity: PublicIdentity, staff_id: str, reason: str,
                       revoked_at: str) -> bytes:
    """Canonical bytes an admin signs to end a key: replaced by a newer one ("retired")
    or its owner removed ("removed"), from ``revoked_at`` (ISO time, UTC)."""
    if reason not in REVOCATION_REASONS:
        raise ValueError(f"reason must be one of {REVOCATION_REASONS}")
    if not isinstance(revoked_at, str) or not _AT_RE.fullmatch(revoked_at):
        raise ValueError("revoked_at must be an ISO time such as 2026-11-29T08:00:00Z")
    return b"\0".join([b"antam-revocation-v1", identity.key_id.encode("ascii"),
                       identity.x25519 + identity.ed25519, _label(staff_id, "staff_id"),
                       reason.encode("ascii"), revoked_at.encode("ascii")])


def sign_revocation(admin: PrivateIdentity, identity: PublicIdentity, staff_id: str,
                    reason: str, revoked_at: str) -> str:
    return admin.sign(revocation_message(identity, staff_id, reason, revoked_at))


def revocation_valid(admin_keys: Sequence[bytes], identity: PublicIdentity, staff_id: str,
                     reason: str, revoked_at: str, signature: str) -> bool:
    try:
        message = revocation_message(identity, staff_id, reason, revoked_at)
    except ValueError:
        return False
    return any(verify_signature(key, message, signature) for key in admin_keys)


def iso_utc(moment: dt.datetime) -> str:
    """The canonical time format of signed statements: UTC, seconds, "Z"."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0).isoformat() + "Z"


def parse_iso_utc(text: str) -> dt.datetime:
    """Inverse of iso_utc (naive UTC); ValueError on anything else."""
    if not isinstance(text, str) or not _AT_RE.fullmatch(text):
        raise ValueError("not a canonical UTC time")
    return dt.datetime.fromisoformat(text[:-1])
