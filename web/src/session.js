// What an unlocked workspace holds in memory: the unlocked keys (non-extractable), the
// session token, the pinned keys. "Khóa" drops all of it at once, and so does idle time;
// nothing of it is ever written anywhere.

import { api, useToken } from "./net/api.js";
import { b64d } from "./crypto/encoding.js";
import { adminKeyId, sign, unwrapIdentity } from "./crypto/identity.js";
import { loginMessage } from "./crypto/statements.js";
import * as keystore from "./store/keystore.js";

export const IDLE_LOCK_MS = 10 * 60 * 1000;

export const state = {
  kind: null, // "counselor" | "admin"
  identities: new Map(), // key id -> unlocked identity (every key of this device)
  current: null, // the identity logged in with
  token: null,
  me: null, // {staff_id, role, key_id, display_name}
  pins: null, // {adminKeys: [Uint8Array], serverKey: Uint8Array}
  known: {}, // revocations this browser has verified
  drafts: new Map(), // case code -> unsent reply (memory only)
};

let idleTimer = null;
let idleLimit = IDLE_LOCK_MS;
let onLocked = () => {};

export function whenLocked(callback) {
  onLocked = callback;
}

export function unlocked() {
  return state.token !== null;
}

/** Unlock every key of this device with the passphrase, then log in with the newest one the
 * server accepts (a newer key may still wait for approval). */
export async function unlock(kind, records, passphrase) {
  const identities = new Map();
  for (const record of records) {
    const identity = await unwrapIdentity(record.wrapped, passphrase);
    identities.set(identity.public.keyId, identity);
  }
  const config = await keystore.config();
  const pins = {
    adminKeys: (config.admin_keys || []).map((key) => b64d(key)),
    serverKey: config.server_key ? b64d(config.server_key) : null,
  };
  let lastError = null;
  for (const identity of identities.values()) {
    const keyId = kind === "admin" ? await adminKeyId(identity.public) : identity.public.keyId;
    try {
      const { nonce } = await api("POST", "/auth/challenge", { key_id: keyId });
      const signature = await sign(identity.ed25519, loginMessage(nonce, keyId, location.origin));
      const session = await api("POST", "/auth/session", { key_id: keyId, nonce, signature });
      Object.assign(state, { kind, identities, current: identity, token: session.token, pins,
        known: config.revocations || {} });
      useToken(session.token);
      state.me = await api("GET", "/me");
      touch();
      return state.me;
    } catch (error) {
      lastError = error;
      if (error.status !== 401) throw error;
    }
  }
  throw lastError;
}

export function lock(reason = "locked") {
  const token = state.token;
  state.identities.clear();
  state.drafts.clear();
  Object.assign(state, { current: null, token: null, me: null, pins: null, known: {} });
  useToken(null);
  clearTimeout(idleTimer);
  if (token && reason === "locked") {
    fetch("/api/v1/auth/session", { method: "DELETE", credentials: "omit",
      headers: { Authorization: `Bearer ${token}` } }).catch(() => {});
  }
  onLocked(reason);
}

/** Any activity on the page postpones the idle lock. */
export function touch() {
  if (!unlocked()) return;
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => lock("idle"), idleLimit);
}

export function setIdleLimit(ms) {
  idleLimit = ms;
  touch();
}

export async function rememberRevocations(learned) {
  if (!Object.keys(learned).length) return;
  state.known = { ...state.known, ...learned };
  await keystore.saveConfig({ revocations: state.known });
}
