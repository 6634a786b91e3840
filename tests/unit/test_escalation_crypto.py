"""Escalation crypto: every check here should fail if a binding were dropped."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import unicodedata

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from bot.escalation.crypto import (
    KDF_PARAMS,
    SUITE,
    CryptoError,
    PrivateIdentity,
    PublicIdentity,
    SealContext,
    TamperError,
    WrongPassphrase,
    approval_message,
    approval_valid,
    b64d,
    b64e,
    open_sealed,
    recipients_digest,
    seal,
    sign_approval,
    unwrap_identity,
    verify_signature,
    wrap_identity,
)
from bot.escalation.envelope import Keyring, new_dek, open_field, seal_field

FAST_KDF = {"name": "argon2id", "iterations": 1, "lanes": 1, "memory_cost": 8192}
FAST_SCRYPT = {"name": "scrypt", "n": 2**10, "r": 8, "p": 1}
CTX = SealContext(case_id="case-42", item=0, direction="case")
SECRET = "Tôi bị đánh, cần giúp đỡ".encode()


@pytest.fixture(scope="module")
def people() -> list[PrivateIdentity]:
    return [PrivateIdentity.generate() for _ in range(3)]


@pytest.fixture(scope="module")
def attacker() -> PrivateIdentity:
    return PrivateIdentity.generate()


@pytest.fixture()
def sealed(people: list[PrivateIdentity]) -> dict:
    return seal(SECRET, [p.public() for p in people], CTX)


def _flip(text: str, index: int) -> str:
    raw = bytearray(b64d(text))
    raw[index] ^= 0x01
    return b64e(bytes(raw))


def _assert_nobody_opens(doc: dict, identities: list[PrivateIdentity], ctx=CTX) -> None:
    for identity in identities:
        with pytest.raises(TamperError):
            open_sealed(doc, identity, ctx)


def _attacker_wrap(attacker: PrivateIdentity, key_ids: list[str]) -> str:
    """What a malicious server can do: a genuine HPKE wrap, for the new
    recipient list, of a data key it chose (it never learns the real one)."""
    kid = attacker.public().key_id
    info = CTX.aad(key_ids) + b"\0" + kid.encode()
    pub = attacker.x25519.public_key()
    return b64e(SUITE.encrypt(os.urandom(32), pub, info=info))


# --- sealing -------------------------------------------------------------------


def test_round_trip_to_three_recipients(people, sealed):
    assert len(sealed["recipients"]) == 3
    for person in people:
        assert open_sealed(sealed, person, CTX) == SECRET
    assert SECRET not in json.dumps(sealed).encode()


def test_non_recipient_cannot_open(sealed, attacker):
    with pytest.raises(TamperError):
        open_sealed(sealed, attacker, CTX)


def test_matches_the_documented_wire_format(people, sealed):
    """A browser client implements the spec, not this module: decode by hand."""
    me = people[1]
    kid = me.public().key_id
    ids = sorted(p.public().key_id for p in people)
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()
    aad = b"antam-case-v1\0case-42\x000\0case\0" + digest.encode()
    data_key = SUITE.decrypt(
        b64d(sealed["recipients"][kid]), me.x25519, info=aad + b"\0" + kid.encode()
    )
    plain = AESGCM(data_key).decrypt(b64d(sealed["nonce"]), b64d(sealed["ciphertext"]), aad)
    assert plain == SECRET
    assert sealed["v"] == 1


def test_per_recipient_wrap_is_80_bytes(sealed):
    # 32 (X25519 enc) + 32 (data key) + 16 (GCM tag): the cost of each reader.
    assert {len(b64d(w)) for w in sealed["recipients"].values()} == {80}
    assert len(b64d(sealed["nonce"])) == 12
    assert len(b64d(sealed["ciphertext"])) == len(SECRET) + 16


def test_each_seal_uses_fresh_keys_and_nonces(people):
    recipients = [p.public() for p in people]
    a, b = seal(SECRET, recipients, CTX), seal(SECRET, recipients, CTX)
    assert a["nonce"] != b["nonce"] and a["ciphertext"] != b["ciphertext"]
    assert set(a["recipients"].values()).isdisjoint(b["recipients"].values())


@pytest.mark.parametrize(
    "other",
    [
        SealContext("case-43", 0, "case"),
        SealContext("case-42", 1, "case"),
        SealContext("case-42", 0, "user"),
        SealContext("case-42", 0, "counselor"),
    ],
    ids=["case_id", "item", "direction-user", "direction-counselor"],
)
def test_ciphertext_moved_elsewhere_fails(people, sealed, other):
    _assert_nobody_opens(sealed, people, other)


def test_recipient_added_with_valid_wrap_fails(people, sealed, attacker):
    kid = attacker.public().key_id
    ids = [*sealed["recipients"], kid]
    sealed["recipients"][kid] = _attacker_wrap(attacker, ids)
    _assert_nobody_opens(sealed, [*people, attacker])


def test_recipient_removed_fails(people, sealed):
    del sealed["recipients"][people[2].public().key_id]
    _assert_nobody_opens(sealed, people)


def test_recipient_replaced_fails(people, sealed, attacker):
    del sealed["recipients"][people[2].public().key_id]
    kid = attacker.public().key_id
    sealed["recipients"][kid] = _attacker_wrap(attacker, [*sealed["recipients"], kid])
    _assert_nobody_opens(sealed, [*people, attacker])


def test_wrap_from_another_item_fails(people):
    recipients = [p.public() for p in people]
    one, two = seal(b"one", recipients, CTX), seal(b"two", recipients, CTX)
    kid = people[0].public().key_id
    two["recipients"][kid] = one["recipients"][kid]
    _assert_nobody_opens(two, people[:1])


@pytest.mark.parametrize("index", [0, 5, -1], ids=["first", "middle", "tag"])
def test_bit_flip_in_ciphertext_fails(people, sealed, index):
    sealed["ciphertext"] = _flip(sealed["ciphertext"], index)
    _assert_nobody_opens(sealed, people)


def test_bit_flip_in_nonce_fails(people, sealed):
    sealed["nonce"] = _flip(sealed["nonce"], 3)
    _assert_nobody_opens(sealed, people)


@pytest.mark.parametrize("index", [0, 31, 40, 79], ids=["enc", "enc-end", "body", "tag"])
def test_bit_flip_in_wrap_fails(people, sealed, index):
    kid = people[0].public().key_id
    sealed["recipients"][kid] = _flip(sealed["recipients"][kid], index)
    _assert_nobody_opens(sealed, people[:1])
    assert open_sealed(sealed, people[1], CTX) == SECRET  # others unaffected


MALFORMED = {
    "not-a-dict": lambda d: ["v", 1],
    "no-v": lambda d: d.pop("v"),
    "v2": lambda d: d.update(v=2),
    "v-true": lambda d: d.update(v=True),
    "v-str": lambda d: d.update(v="1"),
    "no-nonce": lambda d: d.pop("nonce"),
    "nonce-junk": lambda d: d.update(nonce="!!not base64!!"),
    "nonce-padded": lambda d: d.update(nonce=d["nonce"] + "="),
    "nonce-int": lambda d: d.update(nonce=12),
    "nonce-short": lambda d: d.update(nonce=b64e(b"short")),
    "no-ciphertext": lambda d: d.pop("ciphertext"),
    "ciphertext-empty": lambda d: d.update(ciphertext=""),
    "no-recipients": lambda d: d.pop("recipients"),
    "recipients-list": lambda d: d.update(recipients=list(d["recipients"])),
    "recipients-empty": lambda d: d.update(recipients={}),
    "recipient-id-junk": lambda d: d["recipients"].update({"k\n1": "AAAA"}),
    "wrap-none": lambda d: d["recipients"].update(dict.fromkeys(d["recipients"])),
    "wrap-junk": lambda d: d["recipients"].update(dict.fromkeys(d["recipients"], "*")),
    "wrap-short": lambda d: d["recipients"].update(dict.fromkeys(d["recipients"], "AAAA")),
}


@pytest.mark.parametrize("mutate", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_documents_raise_tamper_error(people, sealed, mutate):
    doc = copy.deepcopy(sealed)
    result = mutate(doc)
    target = result if isinstance(result, list) else doc
    _assert_nobody_opens(target, people[:1])


def test_seal_rejects_bad_recipients(people):
    with pytest.raises(ValueError):
        seal(SECRET, [], CTX)
    signing_only = PublicIdentity(b"", people[0].public().ed25519)
    with pytest.raises(ValueError):
        seal(SECRET, [signing_only], CTX)


def test_recipients_digest_is_a_set_digest(people):
    ids = [p.public().key_id for p in people]
    expected = hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()
    assert recipients_digest(ids) == expected
    assert recipients_digest(reversed(ids + ids)) == expected
    with pytest.raises(ValueError):
        recipients_digest([ids[0] + "\n" + ids[1]])


def test_seal_context_rejects_ambiguous_values():
    for bad in [("a\0b", 0, "case"), ("c", -1, "case"), ("c", True, "case"), ("c", 0, "x")]:
        with pytest.raises(ValueError):
            SealContext(*bad)


# --- identities --------------------------------------------------------------


def test_key_id_and_fingerprint_follow_the_spec(people):
    pub = people[0].public()
    digest = hashlib.sha256(b"antam-key-v1\0" + pub.x25519 + pub.ed25519).hexdigest()
    assert pub.key_id == "k" + digest[:16]
    fingerprint = pub.fingerprint()
    assert re.fullmatch(r"([0-9A-F]{4} ){7}[0-9A-F]{4}", fingerprint)
    assert fingerprint.replace(" ", "") == digest[:32].upper()
    assert fingerprint != people[1].public().fingerprint()


def test_public_identity_json_round_trip(people):
    pub = people[0].public()
    doc = pub.as_json()
    assert set(doc) == {"key_id", "x25519", "ed25519"}
    assert PublicIdentity.from_json(doc) == pub
    assert PublicIdentity.from_json({k: doc[k] for k in ("x25519", "ed25519")}) == pub


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(key_id="k0000000000000000"),
        lambda d: d.update(x25519=b64e(os.urandom(32))),
        lambda d: d.update(ed25519=b64e(os.urandom(31))),
        lambda d: d.pop("ed25519"),
        lambda d: d.update(x25519="%%%"),
        lambda d: d.update(key_id=7),
    ],
)
def test_public_identity_from_json_rejects_tampering(people, mutate):
    doc = people[0].public().as_json()
    mutate(doc)
    with pytest.raises(TamperError):
        PublicIdentity.from_json(doc)


def test_b64_is_strict():
    for data in [b"", b"\0", b"\xff\xfe", os.urandom(33)]:
        assert b64d(b64e(data)) == data
        assert "=" not in b64e(data)
    for junk in ["AB", "A", "AA==", "a+/A", "ab cd", "é", None]:
        with pytest.raises(CryptoError):
            b64d(junk)  # type: ignore[arg-type]


def test_signatures(people):
    pub = people[0].public()
    sig = people[0].sign(b"hello")
    assert verify_signature(pub.ed25519, b"hello", sig)
    assert not verify_signature(pub.ed25519, b"hellO", sig)
    assert not verify_signature(people[1].public().ed25519, b"hello", sig)
    for key, signature in [(b"short", sig), (pub.ed25519, "junk!"), (pub.ed25519, None)]:
        assert not verify_signature(key, b"hello", signature)  # type: ignore[arg-type]


# --- passphrase-wrapped identity -------------------------------------------------


@pytest.fixture(scope="module")
def wrapped(people) -> dict:
    return wrap_identity(people[0], "correct horse", FAST_KDF)


def test_wrap_unwrap_round_trip(people, wrapped):
    restored = unwrap_identity(json.loads(json.dumps(wrapped)), "correct horse")
    assert restored.public() == people[0].public()
    assert open_sealed(seal(SECRET, [people[0].public()], CTX), restored, CTX) == SECRET
    assert wrapped["key_id"] == people[0].public().key_id
    assert wrapped["kdf"]["name"] == "argon2id" and len(b64d(wrapped["kdf"]["salt"])) >= 16


def _reencrypt(doc: dict, passphrase: str, secret: bytes) -> dict:
    """Re-create the ciphertext as the spec describes, with chosen contents."""
    kdf = doc["kdf"]
    key = Argon2id(
        salt=b64d(kdf["salt"]),
        length=32,
        iterations=kdf["iterations"],
        lanes=kdf["lanes"],
        memory_cost=kdf["memory_cost"],
    ).derive(passphrase.encode())
    aad = b"antam-identity-v1\0" + doc["key_id"].encode()
    out = copy.deepcopy(doc)
    out["ciphertext"] = b64e(AESGCM(key).encrypt(b64d(doc["nonce"]), secret, aad))
    return out


def test_wrapped_identity_matches_the_documented_format(people, wrapped):
    me = people[0]
    secret = me.x25519.private_bytes_raw() + me.ed25519.private_bytes_raw()
    assert _reencrypt(wrapped, "correct horse", secret) == wrapped


def test_private_keys_must_match_the_public_keys(people, wrapped):
    # Correct passphrase and AAD, but someone else's private keys inside.
    other = people[1]
    secret = other.x25519.private_bytes_raw() + other.ed25519.private_bytes_raw()
    with pytest.raises(TamperError):
        unwrap_identity(_reencrypt(wrapped, "correct horse", secret), "correct horse")
    with pytest.raises(TamperError):
        unwrap_identity(_reencrypt(wrapped, "correct horse", secret[:40]), "correct horse")


def test_wrong_passphrase(wrapped):
    with pytest.raises(WrongPassphrase):
        unwrap_identity(wrapped, "correct horsE")


def test_passphrase_is_unicode_normalised(people):
    passphrase = "mật khẩu đúng"
    doc = wrap_identity(people[0], unicodedata.normalize("NFC", passphrase), FAST_KDF)
    restored = unwrap_identity(doc, unicodedata.normalize("NFD", passphrase))
    assert restored.public() == people[0].public()


def test_wrapped_doc_holds_no_private_bytes(people, wrapped):
    text = json.dumps(wrapped)
    me = people[0]
    for raw in (me.x25519.private_bytes_raw(), me.ed25519.private_bytes_raw()):
        for encoded in (b64e(raw), base64.b64encode(raw).decode(), raw.hex(), raw.hex().upper()):
            assert encoded not in text
        assert raw not in text.encode("latin-1")
    assert "correct horse" not in text


def test_tampered_key_id_is_detected(people, wrapped):
    doc = copy.deepcopy(wrapped)
    doc["key_id"] = people[1].public().key_id
    with pytest.raises(TamperError):
        unwrap_identity(doc, "correct horse")


def test_tampered_public_is_detected(people, wrapped):
    doc = copy.deepcopy(wrapped)
    doc["public"]["x25519"] = b64e(people[1].public().x25519)  # key_id left stale
    with pytest.raises(TamperError):
        unwrap_identity(doc, "correct horse")
    doc["public"] = people[1].public().as_json()  # consistent, but not doc["key_id"]
    with pytest.raises(TamperError):
        unwrap_identity(doc, "correct horse")


def test_swapped_public_keys_never_yield_a_wrong_identity(people, wrapped):
    # The server swaps in its own public keys everywhere: the AEAD binds key_id.
    doc = copy.deepcopy(wrapped)
    doc["public"] = people[1].public().as_json()
    doc["key_id"] = people[1].public().key_id
    with pytest.raises(CryptoError):
        unwrap_identity(doc, "correct horse")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(v=2),
        lambda d: d.pop("kdf"),
        lambda d: d["kdf"].update(name="pbkdf2"),
        lambda d: d["kdf"].update(memory_cost=1 << 30),  # must not try to allocate 1 TiB
        lambda d: d["kdf"].update(iterations="3"),
        lambda d: d["kdf"].pop("salt"),
        lambda d: d.update(nonce="zz"),
        lambda d: d.pop("public"),
    ],
)
def test_malformed_wrapped_doc(wrapped, mutate):
    doc = copy.deepcopy(wrapped)
    mutate(doc)
    with pytest.raises(TamperError):
        unwrap_identity(doc, "correct horse")


def test_bit_flip_in_wrapped_ciphertext(wrapped):
    doc = copy.deepcopy(wrapped)
    doc["ciphertext"] = _flip(doc["ciphertext"], 10)
    with pytest.raises(CryptoError):
        unwrap_identity(doc, "correct horse")


def test_scrypt_variant(people):
    doc = wrap_identity(people[2], "pass phrase", FAST_SCRYPT)
    assert doc["kdf"]["name"] == "scrypt" and doc["kdf"]["n"] == 2**10
    assert unwrap_identity(doc, "pass phrase").public() == people[2].public()
    with pytest.raises(WrongPassphrase):
        unwrap_identity(doc, "pass phrasE")


def test_default_kdf_parameters_are_recorded(people):
    doc = wrap_identity(people[0], "pw")
    assert {k: doc["kdf"][k] for k in KDF_PARAMS} == KDF_PARAMS
    assert KDF_PARAMS["memory_cost"] >= 65536


def test_each_wrap_uses_a_fresh_salt_and_nonce(people):
    a, b = (wrap_identity(people[0], "pw", FAST_KDF) for _ in range(2))
    assert a["kdf"]["salt"] != b["kdf"]["salt"] and a["nonce"] != b["nonce"]


# --- admin approvals ----------------------------------------------------------


@pytest.fixture(scope="module")
def admin() -> PrivateIdentity:
    return PrivateIdentity.generate()


def test_approval_message_is_canonical(people):
    pub = people[0].public()
    expected = (
        b"antam-approval-v1\0"
        + pub.key_id.encode()
        + b"\0"
        + pub.x25519
        + pub.ed25519
        + b"\0c-7\0counselor"
    )
    assert approval_message(pub, "c-7", "counselor") == expected


def test_approval_valid(people, admin, attacker):
    pub = people[0].public()
    sig = sign_approval(admin, pub, "c-7", "counselor")
    admins = [attacker.public().ed25519, admin.public().ed25519]
    assert approval_valid(admins, pub, "c-7", "counselor", sig)
    assert not approval_valid([attacker.public().ed25519], pub, "c-7", "counselor", sig)
    assert not approval_valid([], pub, "c-7", "counselor", sig)
    assert not approval_valid(admins, pub, "c-7", "supervisor", sig)
    assert not approval_valid(admins, pub, "c-8", "counselor", sig)
    assert not approval_valid(admins, people[1].public(), "c-7", "counselor", sig)
    swapped = PublicIdentity(attacker.public().x25519, pub.ed25519)  # server's own x25519
    assert not approval_valid(admins, swapped, "c-7", "counselor", sig)
    assert not approval_valid(admins, pub, "c-7", "counselor", "junk")


def test_approval_fields_cannot_shift(people, admin):
    # A NUL inside a field would let "c\0a"/"b" sign the same bytes as "c"/"a\0b".
    pub = people[0].public()
    with pytest.raises(ValueError):
        approval_message(pub, "c-7\0x", "counselor")
    with pytest.raises(ValueError):
        sign_approval(admin, pub, "c", "a\0b")
    raw = b"antam-approval-v1\0" + pub.key_id.encode() + b"\0" + pub.x25519 + pub.ed25519
    sig = admin.sign(raw + b"\0c\0a\0b")  # would match both splits if NUL were allowed
    assert not approval_valid([admin.public().ed25519], pub, "c\0a", "b", sig)
    assert not approval_valid([admin.public().ed25519], pub, "c", "a\0b", sig)


# --- envelope encryption -----------------------------------------------------------


def test_keyring_round_trip_and_subject_binding():
    ring = Keyring.from_spec(Keyring.generate_spec("k1"))
    dek = new_dek()
    token = ring.wrap(dek, "case:1")
    assert token.startswith("k1.") and ring.current_id == "k1"
    assert ring.unwrap(token, "case:1") == dek
    assert ring.wrap(dek, "case:1") != token  # fresh nonce
    with pytest.raises(TamperError):
        ring.unwrap(token, "case:2")


def test_keyring_rotation():
    old_spec = Keyring.generate_spec("k0")
    old = Keyring.from_spec(old_spec)
    dek = new_dek()
    token = old.wrap(dek, "s")
    ring = Keyring.from_spec(Keyring.generate_spec("k1") + "," + old_spec)
    assert ring.current_id == "k1"
    assert ring.unwrap(token, "s") == dek
    assert ring.needs_rewrap(token)
    fresh = ring.rewrap(token, "s")
    assert fresh.startswith("k1.") and not ring.needs_rewrap(fresh)
    assert ring.unwrap(fresh, "s") == dek
    with pytest.raises(TamperError):
        old.unwrap(fresh, "s")  # unknown kid
    with pytest.raises(TamperError):
        ring.rewrap(token, "other-subject")


@pytest.mark.parametrize(
    "token",
    ["", "k1", "k1.", "k1.***", "k1.AAAA", "bad id.AAAA", None],
)
def test_keyring_rejects_malformed_tokens(token):
    ring = Keyring.from_spec(Keyring.generate_spec("k1"))
    with pytest.raises(TamperError):
        ring.unwrap(token, "s")  # type: ignore[arg-type]


def test_keyring_rejects_bit_flips_and_other_keys():
    ring, other = (Keyring.from_spec(Keyring.generate_spec("k1")) for _ in range(2))
    token = ring.wrap(new_dek(), "s")
    kid, blob = token.split(".")
    with pytest.raises(TamperError):
        ring.unwrap(f"{kid}.{_flip(blob, 20)}", "s")
    with pytest.raises(TamperError):
        other.unwrap(token, "s")  # same kid, different key


GOOD_KEY = b64e(bytes(range(32)))


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "   ",
        ",",
        f"k 1:{GOOD_KEY}",
        f"k.1:{GOOD_KEY}",
        f":{GOOD_KEY}",
        GOOD_KEY,
        "k1:" + b64e(bytes(31)),
        "k1:" + b64e(bytes(33)),
        "k1:not base64!",
        f"k1:{GOOD_KEY},k1:{b64e(bytes(32))}",
    ],
)
def test_keyring_bad_specs(spec):
    with pytest.raises(ValueError):
        Keyring.from_spec(spec)


def test_keyring_never_shows_key_material():
    spec = f"k1:{GOOD_KEY}"
    ring = Keyring.from_spec(spec)
    assert GOOD_KEY not in repr(ring)
    with pytest.raises(ValueError) as info:
        Keyring.from_spec("k1:" + GOOD_KEY[:-2])
    assert GOOD_KEY[:-2] not in str(info.value)


def test_keyring_accepts_standard_padded_base64():
    key = bytes([0xFB] * 32)  # encodes with "+" and "/" in standard base64
    ring = Keyring.from_spec(f"ops:{base64.b64encode(key).decode()}")
    assert ring.unwrap(ring.wrap(new_dek(), "s"), "s")


def test_seal_field_round_trip_and_binding():
    dek = new_dek()
    assert len(dek) == 32 and dek != new_dek()
    blob = seal_field(dek, SECRET, b"row:1")
    assert SECRET not in blob
    assert open_field(dek, blob, b"row:1") == SECRET
    assert open_field(dek, memoryview(blob), b"row:1") == SECRET
    with pytest.raises(TamperError):
        open_field(dek, blob, b"row:2")
    with pytest.raises(TamperError):
        open_field(new_dek(), blob, b"row:1")
    with pytest.raises(TamperError):
        open_field(dek, blob[:-1] + bytes([blob[-1] ^ 1]), b"row:1")
    with pytest.raises(TamperError):
        open_field(dek, blob[:20], b"row:1")
    assert seal_field(dek, SECRET, b"row:1") != blob  # fresh nonce
