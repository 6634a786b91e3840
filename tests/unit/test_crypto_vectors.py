"""The workspace's JavaScript crypto and bot/escalation/crypto.py agree, both ways: Python
seals, signs and wraps, JavaScript opens and verifies; JavaScript seals, signs, wraps and
re-shares, Python opens and verifies. The JavaScript runs in Node with the very modules
the browser bundle is built from (web/src/crypto)."""

from __future__ import annotations

import json
import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.escalation import crypto
from bot.escalation.crypto import PrivateIdentity, PublicIdentity, SealContext, b64d, b64e
from tests.helpers import ROOT

FAST_KDF = {"name": "argon2id", "iterations": 1, "lanes": 1, "memory_cost": 8192}
PASSPHRASE = "một mật khẩu đủ dài cho thử nghiệm"
TEXTS = ["Chồng tôi đánh tôi tối qua", "Em đang trốn trong phòng 🙏", "x" * 3000]


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vectors")
    me = PrivateIdentity.generate()
    other = PrivateIdentity.generate()
    server = Ed25519PrivateKey.generate()
    admin = PrivateIdentity.generate()
    items, tampered = [], []
    for number, text in enumerate(TEXTS):
        context = SealContext("c0ffee", number, ("case", "user", "counselor")[number])
        sealed = crypto.sign_item(crypto.seal(text.encode(), [me.public(), other.public()],
                                              context), context, server, "2026-11-29T08:00:00Z")
        items.append({"case_id": "c0ffee", "item": number, "direction": context.direction,
                      "sealed": sealed})
    moved = dict(items[1], item=5)  # pasted elsewhere: the signature no longer holds
    forged = dict(items[0], sealed=crypto.sign_item(
        crypto.seal(b"forged", [me.public()], SealContext("c0ffee", 0, "case")),
        SealContext("c0ffee", 0, "case"), Ed25519PrivateKey.generate(), "2026-11-29T08:00:00Z"))
    flipped = json.loads(json.dumps(items[2]))
    raw = bytearray(b64d(flipped["sealed"]["ciphertext"]))
    raw[3] ^= 1
    flipped["sealed"]["ciphertext"] = b64e(bytes(raw))
    tampered = [moved, forged, flipped]
    revoked_at = "2026-11-29T09:00:00Z"
    given = {
        "wrapped_identity": crypto.wrap_identity(me, PASSPHRASE, FAST_KDF),
        "passphrase": PASSPHRASE, "fast_kdf": FAST_KDF,
        "server_key": b64e(server.public_key().public_bytes_raw()),
        "items": items, "tampered": tampered,
        "approval": {"identity": other.public().as_json(), "staff_id": "s42", "role": "counselor",
                     "admin_key": b64e(admin.public().ed25519),
                     "signature": crypto.sign_approval(admin, other.public(), "s42", "counselor")},
        "revocation": {"staff_id": "s42", "reason": "retired", "revoked_at": revoked_at,
                       "signature": crypto.sign_revocation(admin, other.public(), "s42",
                                                           "retired", revoked_at)},
        "login": {"nonce": "n0nce-xyz", "key_id": me.public().key_id,
                  "origin": "https://antam.example.gov.vn"},
    }
    (folder / "in.json").write_text(json.dumps(given, ensure_ascii=False), encoding="utf-8")
    subprocess.run(["node", str(ROOT / "web" / "test" / "vectors.mjs"), str(folder / "in.json"),
                    str(folder / "out.json")], check=True, cwd=ROOT / "web", timeout=120)
    return {"me": me, "given": given,
            "made": json.loads((folder / "out.json").read_text(encoding="utf-8"))}


def test_javascript_opens_what_python_sealed_and_refuses_what_was_changed(exchange):
    made = exchange["made"]
    assert made["unwrapped_key_id"] == exchange["me"].public().key_id
    assert made["opened"] == TEXTS
    assert made["tampered"] == ["TamperError"] * 3
    assert made["wrong_passphrase"] == "WrongPassphrase"
    signed = crypto.login_message("n0nce-xyz", exchange["me"].public().key_id,
                                  "https://antam.example.gov.vn")
    assert made["login_message"] == signed.hex()
    assert crypto.verify_signature(exchange["me"].public().ed25519,
                                   "ký bằng JavaScript".encode(), made["signed_by_python_key"])


def test_javascript_verifies_python_approvals_and_revocations(exchange):
    made = exchange["made"]
    assert made["approval_valid"] is True and made["approval_other_role"] is False
    assert made["revocation_valid"] is True


def test_python_opens_what_javascript_wrapped_sealed_signed_and_shared(exchange):
    made, me = exchange["made"], exchange["me"]
    js = crypto.unwrap_identity(made["js_wrapped_identity"], made["js_passphrase"])
    assert made["js_admin_key_id"] == PublicIdentity(b"", js.public().ed25519).key_id
    assert crypto.verify_signature(js.public().ed25519, "xin chào từ trình duyệt".encode(),
                                   made["js_signature"])
    context = SealContext("c0ffee", 123456789, "note")
    crypto.verify_item(made["js_note"], context, js.public().ed25519)
    for reader in (me, js):
        assert crypto.open_sealed(made["js_note"], reader, context).decode() == \
            "Ghi chú riêng: hẹn gọi lại thứ Hai"
    first = exchange["given"]["items"][0]
    shared = crypto.open_sealed(first["sealed"], js, SealContext("c0ffee", 0, "case"),
                                {js.public().key_id: made["js_share"]})
    assert shared.decode() == TEXTS[0]
    assert crypto.approval_valid((js.public().ed25519,), me.public(), "s123", "counselor",
                                 made["js_approval"])
    assert crypto.revocation_valid((js.public().ed25519,), me.public(), "s123", "removed",
                                   "2026-11-29T08:00:00Z", made["js_revocation"])


def test_both_sides_read_base64_strictly(exchange):
    assert exchange["made"]["b64_refused"] == ["refused"] * 3
    assert exchange["made"]["b64_roundtrip"] == "AAEC_-8"
