// A staff member's keys in the browser: made here, kept only wrapped under a passphrase
// (Argon2id, as the command-line client does: the same file format, so a key made by
// `antam counselor init` can be imported and one made here used by the CLI), and, once
// unlocked, held as non-extractable CryptoKeys that never leave this page's memory.

import { argon2id, scrypt } from "hash-wasm";

import {
  CryptoError, TamperError, WrongPassphrase, b64d, b64e, concat, equalBytes, hex, joinNul,
  sha256, utf8,
} from "./encoding.js";

export const KDF_PARAMS = { name: "argon2id", iterations: 3, lanes: 4, memory_cost: 65536 };
const LIMITS = { iterations: [1, 64], lanes: [1, 64], memory_cost: [8, 1 << 21], n: [2, 1 << 22],
  r: [1, 32], p: [1, 16] };

// --- public identities ------------------------------------------------------------

async function identityDigest(x25519, ed25519) {
  return sha256(concat(utf8("antam-key-v1\0"), x25519, ed25519));
}

export async function publicIdentity(x25519, ed25519) {
  if (!(x25519.length === 0 || x25519.length === 32) || ed25519.length !== 32) {
    throw new CryptoError("public keys have the wrong length");
  }
  const digest = hex(await identityDigest(x25519, ed25519));
  const groups = digest.slice(0, 32).toUpperCase().match(/.{4}/g);
  return { keyId: `k${digest.slice(0, 16)}`, x25519, ed25519, fingerprint: groups.join(" ") };
}

/** A public identity from an untrusted document; its key_id must match its keys. */
export async function publicFromJson(doc) {
  if (!doc || typeof doc !== "object") throw new TamperError("not a public identity");
  let identity;
  try {
    identity = await publicIdentity(b64d(doc.x25519), b64d(doc.ed25519));
  } catch (error) {
    throw new TamperError(`bad public identity: ${error.message}`);
  }
  if (doc.key_id !== undefined && doc.key_id !== identity.keyId) {
    throw new TamperError("key_id does not match the public keys");
  }
  return identity;
}

export function publicJson(identity) {
  return { key_id: identity.keyId, x25519: b64e(identity.x25519), ed25519: b64e(identity.ed25519) };
}

// --- signatures ---------------------------------------------------------------------

export async function sign(privateKey, message) {
  return b64e(new Uint8Array(await crypto.subtle.sign("Ed25519", privateKey, message)));
}

/** True only for a valid signature; never throws on junk input. */
export async function verify(ed25519Public, message, signatureB64) {
  try {
    const key = await crypto.subtle.importKey("raw", ed25519Public, "Ed25519", false, ["verify"]);
    return await crypto.subtle.verify("Ed25519", key, b64d(signatureB64), message);
  } catch {
    return false;
  }
}

// --- making, wrapping and unlocking -------------------------------------------------

/** New X25519 and Ed25519 keys: {secret (the 64 bytes to wrap), public identity}. Admins
 * get both too, as `antam admin init` makes them: one file format for every key. */
export async function generate() {
  const edPair = await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"]);
  const xPair = await crypto.subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]);
  const edJwk = await crypto.subtle.exportKey("jwk", edPair.privateKey);
  const xJwk = await crypto.subtle.exportKey("jwk", xPair.privateKey);
  const secret = concat(b64d(xJwk.d), b64d(edJwk.d));
  return { secret, public: await publicIdentity(b64d(xJwk.x), b64d(edJwk.x)) };
}

/** The key id an admin logs in with: the server knows admins by their Ed25519 key alone. */
export async function adminKeyId(identity) {
  return (await publicIdentity(new Uint8Array(0), identity.ed25519)).keyId;
}

async function deriveKey(kdf, salt, passphrase) {
  const password = utf8(passphrase.normalize("NFC"));  // keyboards compose diacritics differently
  const param = (name) => {
    const value = kdf[name];
    const [low, high] = LIMITS[name];
    if (!Number.isInteger(value) || value < low || value > high) {
      throw new TamperError(`bad kdf parameter ${name}`);
    }
    return value;
  };
  if (kdf.name === "argon2id") {
    return argon2id({ password, salt, iterations: param("iterations"), parallelism: param("lanes"),
      memorySize: param("memory_cost"), hashLength: 32, outputType: "binary" });
  }
  if (kdf.name === "scrypt") {
    const n = param("n");
    if (n & (n - 1)) throw new TamperError("scrypt n must be a power of two");
    return scrypt({ password, salt, costFactor: n, blockSize: param("r"),
      parallelism: param("p"), hashLength: 32, outputType: "binary" });
  }
  throw new TamperError(`unknown kdf ${kdf.name}`);
}

const identityAad = (keyId) => joinNul("antam-identity-v1", keyId);

export async function wrapIdentity(secret, identity, passphrase, kdf = KDF_PARAMS) {
  if (typeof passphrase !== "string" || !passphrase) throw new CryptoError("empty passphrase");
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const params = { ...kdf };
  delete params.salt;
  const aes = await crypto.subtle.importKey("raw", await deriveKey(params, salt, passphrase),
    "AES-GCM", false, ["encrypt"]);
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: identityAad(identity.keyId) }, aes, secret);
  return { v: 1, key_id: identity.keyId, kdf: { ...params, salt: b64e(salt) }, nonce: b64e(nonce),
    ciphertext: b64e(new Uint8Array(ciphertext)), public: publicJson(identity) };
}

/**
 * Unlock a wrapped identity: {public, x25519, ed25519} with non-extractable CryptoKeys.
 * The secret bytes are zeroed as soon as they are imported.
 */
export async function unwrapIdentity(doc, passphrase) {
  if (!doc || doc.v !== 1) throw new TamperError("unsupported key file");
  const identity = await publicFromJson(doc.public);
  if (doc.key_id !== identity.keyId) throw new TamperError("key_id does not match");
  const nonce = b64d(doc.nonce);
  if (nonce.length !== 12) throw new TamperError("bad nonce");
  const key = await deriveKey(doc.kdf || {}, b64d(doc.kdf?.salt), passphrase);
  let secret;
  try {
    const aes = await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["decrypt"]);
    secret = new Uint8Array(await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: nonce, additionalData: identityAad(identity.keyId) }, aes,
      b64d(doc.ciphertext)));
  } catch {
    throw new WrongPassphrase("wrong passphrase (or damaged key file)");
  }
  try {
    return await importSecret(secret, identity);
  } finally {
    secret.fill(0);
  }
}

async function importSecret(secret, identity) {
  const xLength = 32;
  if (identity.x25519.length !== 32 || secret.length !== 64) {
    throw new TamperError("bad private key length");
  }
  const ed25519 = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519",
    d: b64e(secret.subarray(xLength)), x: b64e(identity.ed25519) }, "Ed25519", false, ["sign"]);
  const probe = utf8("antam-probe");
  if (!await verify(identity.ed25519, probe, await sign(ed25519, probe))) {
    throw new TamperError("private keys do not match the public keys");
  }
  const x25519 = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "X25519",
    d: b64e(secret.subarray(0, xLength)), x: b64e(identity.x25519) }, { name: "X25519" },
  false, ["deriveBits"]);
  await checkX25519(x25519, identity.x25519);
  return { public: identity, x25519, ed25519 };
}

/** A DH with a throwaway key both ways proves the private key belongs to the public one. */
async function checkX25519(privateKey, publicBytes) {
  const other = await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
  const mine = await crypto.subtle.importKey("raw", publicBytes, { name: "X25519" }, false, []);
  const one = new Uint8Array(await crypto.subtle.deriveBits(
    { name: "X25519", public: other.publicKey }, privateKey, 256));
  const two = new Uint8Array(await crypto.subtle.deriveBits(
    { name: "X25519", public: mine }, other.privateKey, 256));
  if (!equalBytes(one, two)) throw new TamperError("private keys do not match the public keys");
}
