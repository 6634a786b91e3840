// Byte helpers shared by the crypto modules: strict base64url (the Python side's b64d),
// UTF-8, hex, and SHA-256. Strict means one spelling per value: a tampered encoding is
// refused, never read as something else.

const B64URL = /^[A-Za-z0-9_-]*$/;

export function b64e(bytes) {
  let binary = "";
  const view = new Uint8Array(bytes);
  for (let i = 0; i < view.length; i += 0x8000) {
    binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function b64d(text) {
  if (typeof text !== "string" || !B64URL.test(text) || text.length % 4 === 1) {
    throw new CryptoError("invalid base64");
  }
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  if (b64e(bytes) !== text) throw new CryptoError("invalid base64");
  return bytes;
}

export const utf8 = (text) => new TextEncoder().encode(text);
export const fromUtf8 = (bytes) => new TextDecoder("utf-8", { fatal: true }).decode(bytes);

export function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function concat(...parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Parts joined by NUL bytes, as the Python side builds its signed statements. */
export function joinNul(...parts) {
  const out = [];
  parts.forEach((part, i) => {
    if (i) out.push(new Uint8Array([0]));
    out.push(typeof part === "string" ? utf8(part) : part);
  });
  return concat(...out);
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export class CryptoError extends Error {}
/** Authentication or a binding check failed: the data is not what was sealed or signed. */
export class TamperError extends CryptoError {}
export class WrongPassphrase extends CryptoError {}
