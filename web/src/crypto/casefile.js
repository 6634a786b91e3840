// Opening a case on the counselor's screen, trusting the server for nothing: the port of
// bot/counselor/casefile.py. Before anything is shown, every key that can open an item
// must carry an approval signed by a pinned admin key; an item sealed to a key after its
// revocation is refused (revocations seen once are remembered); every item must carry the
// pinned server key's signature, and every note its author's. Any failure throws
// CaseRefused and nothing of the case is shown.

import { TamperError, fromUtf8 } from "./encoding.js";
import { publicFromJson, verify } from "./identity.js";
import { openSealed, shareItem, verifyItem } from "./sealing.js";
import { SealContext, approvalMessage, parseIsoUtc, revocationMessage } from "./statements.js";

const CLOCK_ALLOWANCE_MS = 5 * 60 * 1000;

export class CaseRefused extends Error {}

async function anyVerifies(keys, message, signature) {
  for (const key of keys) if (await verify(key, message, signature)) return true;
  return false;
}

/** The keys listed with the case, each checked against the pinned admin keys. */
export async function verifyReaders(doc, adminKeys, known) {
  const readers = new Map();
  const learned = {};
  for (const entry of doc.recipients || []) {
    const keyId = String(entry?.key_id ?? "?");
    let identity;
    try {
      identity = await publicFromJson(entry);
    } catch {
      throw new CaseRefused(`CẢNH BÁO: khóa ${keyId} không hợp lệ. Không mở ca.`);
    }
    const staffId = String(entry.staff_id || "");
    const role = String(entry.role || "");
    if (!await anyVerifies(adminKeys, approvalMessage(identity, staffId || "?", role || "?"),
      String(entry.approval || ""))) {
      throw new CaseRefused(`CẢNH BÁO: người nhận ${keyId} của ca này không được quản trị viên `
        + "duyệt (chữ ký không hợp lệ). Không mở ca; hãy báo ngay cho quản trị viên.");
    }
    const revocation = entry.revocation || known[identity.keyId];
    let revokedAt = null;
    if (revocation) {
      revokedAt = String(revocation.revoked_at || "");
      const ok = await anyVerifies(adminKeys, safeRevocation(identity, revocation.staff_id
        || staffId, revocation.reason, revokedAt), String(revocation.signature || ""));
      if (!ok) {
        throw new CaseRefused(`CẢNH BÁO: thông tin thu hồi khóa ${keyId} không hợp lệ. Không mở `
          + "ca; hãy báo ngay cho quản trị viên.");
      }
      if (!known[identity.keyId]) learned[identity.keyId] = { ...revocation, staff_id: staffId };
    }
    readers.set(identity.keyId, { identity, staffId, role, revokedAt });
  }
  return { readers, learned };
}

function safeRevocation(identity, staffId, reason, revokedAt) {
  try {
    return revocationMessage(identity, staffId, reason, revokedAt);
  } catch {
    return new Uint8Array(0);
  }
}

function refused(number) {
  return new CaseRefused(`CẢNH BÁO: mục ${number} của ca này đã bị thay đổi hoặc hỏng (không `
    + "xác thực được). Không hiển thị ca; hãy báo ngay cho quản trị viên.");
}

async function openOne(caseId, entry, direction, number, readers, signerKey, identities,
  shares = {}) {
  const sealed = entry.sealed;
  const context = new SealContext(caseId, number, direction);
  try {
    await verifyItem(sealed, context, signerKey);
    const sealedAt = parseIsoUtc(sealed.at);
    for (const keyId of new Set([...Object.keys(sealed.recipients), ...Object.keys(shares)])) {
      const reader = readers.get(keyId);
      if (!reader) throw new TamperError("a reader outside the verified list");
      if (keyId in sealed.recipients && reader.revokedAt
          && sealedAt > parseIsoUtc(reader.revokedAt) + CLOCK_ALLOWANCE_MS) {
        throw new CaseRefused(`CẢNH BÁO: mục ${number} được mã hoá cho khóa ${keyId} sau khi `
          + "khóa này đã bị thu hồi. Không hiển thị ca; hãy báo ngay cho quản trị viên.");
      }
    }
    const mine = [...identities.keys()].find((k) => k in sealed.recipients || k in shares);
    const text = mine
      ? fromUtf8(await openSealed(sealed, identities.get(mine), context, shares)) : null;
    return { number, direction, at: sealed.at, text, openedWith: mine || null };
  } catch (error) {
    if (error instanceof CaseRefused) throw error;
    throw refused(number);
  }
}

/** Verify everything, then open what this device's keys can open. */
export async function openCase(doc, pins, identities, known = {}) {
  const { readers, learned } = await verifyReaders(doc, pins.adminKeys, known);
  const items = await Promise.all((doc.items || []).map((entry) => openOne(doc.case_id, entry,
    entry.direction, entry.item, readers, pins.serverKey, identities, entry.shares || {})));
  items.sort((a, b) => a.number - b.number);
  const notes = await Promise.all((doc.notes || []).map(async (note) => {
    const signer = readers.get(note.sealed?.signer);
    if (!signer) throw refused(`ghi chú ${note.note_id}`);
    const opened = await openOne(doc.case_id, note, "note", note.note_id, readers,
      signer.identity.ed25519, identities);
    return { ...opened, author: signer.staffId, noteId: note.note_id };
  }));
  let body = null;
  const first = items.find((item) => item.number === 0);
  if (first?.text != null) {
    try {
      body = JSON.parse(first.text);
    } catch {
      body = null;
    }
    if (!body || typeof body !== "object") {
      throw new CaseRefused("CẢNH BÁO: nội dung ca không đúng định dạng.");
    }
  }
  return { case: doc.case || {}, caseId: doc.case_id, body, items, notes, readers,
    sealedRisk: body?.risk ?? null, learned };
}

/** Wraps, made here, of every item this device opened, for ``targets`` (public identities):
 * after a rotation (one's own new key) or a handover (a colleague's keys). */
export async function sharesFor(doc, opened, identities, targets) {
  const byNumber = new Map((doc.items || []).map((entry) => [entry.item, entry]));
  const shares = [];
  for (const item of opened.items) {
    const entry = byNumber.get(item.number);
    if (!item.openedWith || !entry) continue;
    for (const target of targets) {
      if (target.keyId in entry.sealed.recipients || target.keyId in (entry.shares || {})) {
        continue;
      }
      const context = new SealContext(doc.case_id, item.number, item.direction);
      shares.push({ item: item.number, key_id: target.keyId, wrap: await shareItem(
        entry.sealed, identities.get(item.openedWith), context, target, entry.shares || {}) });
    }
  }
  return shares;
}


