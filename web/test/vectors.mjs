// Cross-language vectors, the JavaScript half: reads what Python made (argv[2]), checks
// and opens it with the workspace's own crypto modules, and writes what JavaScript made
// for Python to check (argv[3]). Run by tests/unit/test_crypto_vectors.py.

import fs from "node:fs";

import { b64d, b64e, fromUtf8, hex, utf8 } from "../src/crypto/encoding.js";
import {
  adminKeyId, generate, publicFromJson, publicJson, sign, unwrapIdentity, verify, wrapIdentity,
} from "../src/crypto/identity.js";
import { openSealed, seal, shareItem, signItem, verifyItem } from "../src/crypto/sealing.js";
import {
  SealContext, approvalMessage, isoUtc, loginMessage, revocationMessage,
} from "../src/crypto/statements.js";

const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const out = {};

const me = await unwrapIdentity(input.wrapped_identity, input.passphrase);
out.unwrapped_key_id = me.public.keyId;
out.signed_by_python_key = await sign(me.ed25519, utf8("ký bằng JavaScript"));
try {
  await unwrapIdentity(input.wrapped_identity, "sai mật khẩu rồi");
  out.wrong_passphrase = "accepted";
} catch (error) {
  out.wrong_passphrase = error.constructor.name;
}

const serverKey = b64d(input.server_key);
out.opened = [];
for (const item of input.items) {
  const context = new SealContext(item.case_id, item.item, item.direction);
  await verifyItem(item.sealed, context, serverKey);
  out.opened.push(fromUtf8(await openSealed(item.sealed, me, context)));
}
out.tampered = [];
for (const item of input.tampered) {
  const context = new SealContext(item.case_id, item.item, item.direction);
  try {
    await verifyItem(item.sealed, context, serverKey);
    await openSealed(item.sealed, me, context);
    out.tampered.push("opened");
  } catch (error) {
    out.tampered.push(error.constructor.name);
  }
}

const approved = await publicFromJson(input.approval.identity);
const adminKey = b64d(input.approval.admin_key);
out.approval_valid = await verify(adminKey, approvalMessage(approved, input.approval.staff_id,
  input.approval.role), input.approval.signature);
out.approval_other_role = await verify(adminKey, approvalMessage(approved,
  input.approval.staff_id, "supervisor"), input.approval.signature);
out.revocation_valid = await verify(adminKey, revocationMessage(approved,
  input.revocation.staff_id, input.revocation.reason, input.revocation.revoked_at),
input.revocation.signature);
out.login_message = hex(loginMessage(input.login.nonce, input.login.key_id, input.login.origin));

// What JavaScript makes, for Python to check.
const made = await generate();
const passphrase = "mật khẩu của trình duyệt, đủ dài";
out.js_wrapped_identity = await wrapIdentity(made.secret, made.public, passphrase,
  input.fast_kdf);
out.js_passphrase = passphrase;
const js = await unwrapIdentity(out.js_wrapped_identity, passphrase);
out.js_admin_key_id = await adminKeyId(js.public);
out.js_signature = await sign(js.ed25519, utf8("xin chào từ trình duyệt"));
const noteContext = new SealContext(input.items[0].case_id, 123456789, "note");
const note = await seal(utf8("Ghi chú riêng: hẹn gọi lại thứ Hai"), [me.public, js.public],
  noteContext);
out.js_note = await signItem(note, noteContext, js.ed25519, isoUtc(new Date(Date.UTC(2026, 10, 29, 8))));
const first = input.items[0];
out.js_share = await shareItem(first.sealed, me, new SealContext(first.case_id, first.item,
  first.direction), js.public);
out.js_public = publicJson(js.public);
out.js_approval = await sign(js.ed25519, approvalMessage(me.public, "s123", "counselor"));
out.js_revocation = await sign(js.ed25519, revocationMessage(me.public, "s123", "removed",
  "2026-11-29T08:00:00Z"));
out.b64_refused = ["AAA=", "AAB", "A+/="].map((text) => {
  try {
    b64d(text);
    return "accepted";
  } catch {
    return "refused";
  }
});
out.b64_roundtrip = b64e(b64d("AAEC_-8"));

fs.writeFileSync(process.argv[3], JSON.stringify(out));
