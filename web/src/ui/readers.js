// Colleagues' keys, verified here before anything is sealed or re-shared to them: the
// server's list is only a hint; an admin's approval signature is the proof.

import { api } from "../net/api.js";
import { state } from "../session.js";
import { verifyReaders } from "../crypto/casefile.js";

/** Approved, unrevoked keys of ``staffIds`` (or of every supervisor when asked). */
export async function verifiedKeys({ staffIds = [], supervisors = false } = {}) {
  const { keys } = await api("GET", "/keys?status=active");
  const wanted = keys.filter((k) => staffIds.includes(k.staff_id)
    || (supervisors && k.role === "supervisor"));
  const { readers } = await verifyReaders({ recipients: wanted }, state.pins.adminKeys,
    state.known);
  return [...readers.values()].filter((r) => !r.revokedAt).map((r) => r.identity);
}
