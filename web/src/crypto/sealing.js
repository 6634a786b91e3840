// Case items: AES-256-GCM under a fresh data key, the key wrapped to each reader with
// HPKE (RFC 9180 base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM), every
// part bound to the item's place and exact reader list. The same format as
// bot/escalation/crypto.py; the server sends only this, and it is opened here.

import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";

import { TamperError, b64d, b64e } from "./encoding.js";
import { itemStatement, wrapInfo } from "./statements.js";
import { sign, verify } from "./identity.js";

const SUITE = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm(),
});
export const WRAP_LEN = 32 + 32 + 16;  // enc, data key, tag
const ENC_LEN = 32;
const KEY_ID = /^k[0-9a-f]{16}$/;

function parsed(sealed) {
  if (!sealed || typeof sealed !== "object" || sealed.v !== 1) {
    throw new TamperError("unsupported sealed item");
  }
  const wraps = sealed.recipients;
  if (!wraps || typeof wraps !== "object" || !Object.keys(wraps).length) {
    throw new TamperError("no recipients");
  }
  for (const id of Object.keys(wraps)) {
    if (!KEY_ID.test(id)) throw new TamperError("malformed recipient key id");
  }
  const nonce = b64d(sealed.nonce);
  const ciphertext = b64d(sealed.ciphertext);
  if (nonce.length !== 12 || ciphertext.length < 16) throw new TamperError("bad ciphertext");
  return { wraps, nonce, ciphertext };
}

async function unwrap(sealed, identity, context, shares = {}) {
  const { wraps, nonce, ciphertext } = parsed(sealed);
  const keyId = identity.public.keyId;
  const source = keyId in wraps ? wraps : shares;
  if (!(keyId in (source || {}))) throw new TamperError("not a reader of this item");
  const wrap = b64d(source[keyId]);
  if (wrap.length !== WRAP_LEN) throw new TamperError("bad key wrap length");
  const aad = await context.aad(Object.keys(wraps));
  try {
    const dataKey = await SUITE.open({ recipientKey: identity.x25519,
      enc: wrap.subarray(0, ENC_LEN), info: wrapInfo(aad, keyId) }, wrap.subarray(ENC_LEN));
    return { dataKey: new Uint8Array(dataKey), nonce, ciphertext, aad };
  } catch {
    throw new TamperError("sealed item failed authentication");
  }
}

/** Decrypt as one reader, through its own wrap or a share added after a rotation. */
export async function openSealed(sealed, identity, context, shares = {}) {
  const { dataKey, nonce, ciphertext, aad } = await unwrap(sealed, identity, context, shares);
  try {
    const key = await crypto.subtle.importKey("raw", dataKey, "AES-GCM", false, ["decrypt"]);
    return new Uint8Array(await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: nonce, additionalData: aad }, key, ciphertext));
  } catch {
    throw new TamperError("sealed item failed authentication");
  } finally {
    dataKey.fill(0);
  }
}

/** A wrap of the item's data key for another reader (handover, rotation): only an item
 * that authenticates is re-shared, and its ciphertext and signature stay as they are. */
export async function shareItem(sealed, identity, context, to, shares = {}) {
  await openSealed(sealed, identity, context, shares);
  const { dataKey, aad } = await unwrap(sealed, identity, context, shares);
  try {
    return b64e(await wrapKey(dataKey, to, aad));
  } finally {
    dataKey.fill(0);
  }
}

async function wrapKey(dataKey, to, aad) {
  if (to.x25519.length !== 32) throw new TamperError(`${to.keyId} has no encryption key`);
  const recipientPublicKey = await SUITE.kem.deserializePublicKey(to.x25519);
  const { ct, enc } = await SUITE.seal({ recipientPublicKey, info: wrapInfo(aad, to.keyId) },
    dataKey);
  return joinBytes(new Uint8Array(enc), new Uint8Array(ct));
}

function joinBytes(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Seal on this device (a private note): a fresh data key, wrapped to every reader. */
export async function seal(plaintext, readers, context) {
  const unique = new Map(readers.map((r) => [r.keyId, r]));
  if (!unique.size) throw new TamperError("at least one reader is required");
  const aad = await context.aad([...unique.keys()]);
  const dataKey = crypto.getRandomValues(new Uint8Array(32));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  try {
    const key = await crypto.subtle.importKey("raw", dataKey, "AES-GCM", false, ["encrypt"]);
    const ciphertext = new Uint8Array(await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: aad }, key, plaintext));
    const recipients = {};
    for (const [keyId, reader] of unique) recipients[keyId] = b64e(await wrapKey(dataKey, reader, aad));
    return { v: 1, nonce: b64e(nonce), ciphertext: b64e(ciphertext), recipients };
  } finally {
    dataKey.fill(0);
  }
}

/** The sealed item with its time and a signature by ``signer`` (a note's author). */
export async function signItem(sealed, context, signer, at) {
  const doc = { ...sealed, at };
  doc.sig = await sign(signer, await itemStatement(doc, context));
  return doc;
}

export async function verifyItem(sealed, context, ed25519Public) {
  if (typeof sealed.sig !== "string"
      || !await verify(ed25519Public, await itemStatement(sealed, context), sealed.sig)) {
    throw new TamperError("the item's signature does not verify");
  }
}


