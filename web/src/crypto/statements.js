// The exact bytes that are signed or bound, byte for byte as bot/escalation/crypto.py
// builds them. Cross-language test vectors (tests/unit/test_crypto_vectors.py) hold the
// two sides together.

import { CryptoError, TamperError, hex, joinNul, sha256, utf8 } from "./encoding.js";

const KEY_ID = /^k[0-9a-f]{16}$/;
const AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
export const DIRECTIONS = new Set(["case", "user", "counselor", "note"]);
export const REVOCATION_REASONS = new Set(["retired", "removed"]);

function label(value, what) {
  if (typeof value !== "string" || !value || value.includes("\0")) {
    throw new CryptoError(`${what} must be a non-empty string without NUL`);
  }
  return value;
}

/** Order-independent digest of a recipient set, bound into every AAD. */
export async function recipientsDigest(keyIds) {
  const ids = [...new Set(keyIds)].sort();
  for (const id of ids) if (!KEY_ID.test(id)) throw new CryptoError(`malformed key id ${id}`);
  return hex(await sha256(utf8(ids.join("\n"))));
}

export class SealContext {
  constructor(caseId, item, direction) {
    label(caseId, "case_id");
    if (!Number.isSafeInteger(item) || item < 0) throw new CryptoError("bad item number");
    if (!DIRECTIONS.has(direction)) throw new CryptoError("bad direction");
    Object.assign(this, { caseId, item, direction });
  }

  async aad(recipientIds) {
    return joinNul("antam-case-v1", this.caseId, String(this.item), this.direction,
      await recipientsDigest(recipientIds));
  }
}

export function wrapInfo(aad, keyId) {
  return joinNul(aad, keyId);
}

/** What the server (or a note's author) signs for a sealed item. */
export async function itemStatement(sealed, context) {
  if (typeof sealed.at !== "string" || !AT.test(sealed.at)) {
    throw new TamperError("bad or missing sealing time");
  }
  if (typeof sealed.nonce !== "string" || typeof sealed.ciphertext !== "string") {
    throw new TamperError("bad or missing ciphertext");
  }
  const readers = Object.keys(sealed.recipients || {});
  if (!readers.length) throw new TamperError("no recipients");
  return joinNul("antam-item-v1", await context.aad(readers), sealed.at, sealed.nonce,
    sealed.ciphertext);
}

export function approvalMessage(identity, staffId, role) {
  return joinNul("antam-approval-v1", identity.keyId, concatKeys(identity),
    label(staffId, "staff_id"), label(role, "role"));
}

export function revocationMessage(identity, staffId, reason, revokedAt) {
  if (!REVOCATION_REASONS.has(reason)) throw new CryptoError("bad revocation reason");
  if (!AT.test(revokedAt)) throw new CryptoError("bad revocation time");
  return joinNul("antam-revocation-v1", identity.keyId, concatKeys(identity),
    label(staffId, "staff_id"), reason, revokedAt);
}

export function loginMessage(nonce, keyId, origin) {
  return utf8(`antam-login-v2\0${origin}\0${nonce}\0${keyId}`);
}

export function isoUtc(date = new Date()) {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function parseIsoUtc(text) {
  if (typeof text !== "string" || !AT.test(text)) throw new CryptoError("not a UTC time");
  return Date.parse(text);
}

function concatKeys(identity) {
  const out = new Uint8Array(identity.x25519.length + identity.ed25519.length);
  out.set(identity.x25519, 0);
  out.set(identity.ed25519, identity.x25519.length);
  return out;
}
