// Admins: invite people, approve keys by the fingerprint read out to them, remove people
// (each key ended by a revocation signed here), and read the audit log. Every signature is
// made on this screen with the admin key; the server only checks it.

import { api } from "../net/api.js";
import { publicFromJson, sign } from "../crypto/identity.js";
import { approvalMessage, isoUtc, revocationMessage } from "../crypto/statements.js";
import { b64e } from "../crypto/encoding.js";
import { state } from "../session.js";
import { button, field, h, localTime, notice, show } from "./dom.js";
import { ROLES, errorText } from "./labels.js";

const normalise = (text) => text.replace(/\s+/g, "").toUpperCase();

export async function adminView(app) {
  const status = h("div", { "aria-live": "assertive" });
  const pending = h("ul", { class: "pending", "aria-label": "Khóa chờ duyệt" });
  const people = h("ul", { class: "people", "aria-label": "Nhân sự" });
  const audit = h("ol", { class: "audit", "aria-label": "Nhật ký" });
  const say = (text, kind) => show(status, text ? notice(text, kind) : null);

  async function refresh() {
    try {
      const [{ keys }, { staff }, { events }] = await Promise.all([api("GET", "/keys?status=pending"),
        api("GET", "/staff"), api("GET", "/admin/audit?limit=50")]);
      show(pending, keys.length ? keys.map((key) => pendingRow(key))
        : h("li", { class: "empty" }, "Không có khóa nào chờ duyệt."));
      show(people, staff.filter((p) => p.status !== "removed").map((p) => personRow(p)));
      show(audit, events.map((e) => h("li", {}, `${localTime(e.at)} · ${e.actor} · ${e.action}`
        + `${e.case ? ` · ${e.case}` : ""}${e.detail ? ` · ${e.detail}` : ""}`)));
    } catch (error) {
      say(errorText(error), "error");
    }
  }

  function pendingRow(key) {
    const heard = h("input", { autocomplete: "off", spellcheck: "false" });
    return h("li", { "data-key": key.key_id },
      h("p", {}, `${key.display_name} – ${ROLES[key.role] || key.role} (${key.staff_id})`),
      field(`Dấu vân tay ${key.display_name} đọc cho bạn`, heard,
        "So từng nhóm; không dùng dấu vân tay gửi qua tin nhắn."),
      button(`Duyệt khóa của ${key.display_name}`, () => approve(key, heard.value)));
  }

  async function approve(key, heard) {
    try {
      const identity = await publicFromJson(key);  // the fingerprint is computed here
      if (normalise(heard) !== normalise(identity.fingerprint)) {
        say("Dấu vân tay không khớp: KHÔNG duyệt khóa này.", "error");
        return;
      }
      const signature = await sign(state.current.ed25519, approvalMessage(identity, key.staff_id, key.role));
      const active = (await api("GET", `/keys?status=active&staff_id=${encodeURIComponent(key.staff_id)}`)).keys;
      const retire = await revocations(active.filter((k) => k.key_id !== key.key_id), key.staff_id, "retired");
      await api("POST", `/admin/keys/${encodeURIComponent(key.key_id)}/approval`, { signature, retire });
      say(`Đã duyệt khóa của ${key.display_name}.`, "ok");
      await refresh();
    } catch (error) {
      say(errorText(error), "error");
    }
  }

  function personRow(person) {
    return h("li", {}, h("span", {}, `${person.display_name} – ${ROLES[person.role] || person.role}`
      + ` – ${person.status === "invited" ? "chưa ghi danh" : "đang hoạt động"}`),
    button(`Gỡ ${person.display_name}`, () => remove(person)));
  }

  async function remove(person) {
    if (!window.confirm(`Gỡ ${person.display_name}? Mọi khóa của người này sẽ bị thu hồi.`)) return;
    try {
      const { keys } = await api("GET", `/keys?staff_id=${encodeURIComponent(person.staff_id)}`);
      const signed = await revocations(keys, person.staff_id, "removed");
      await api("POST", `/admin/staff/${encodeURIComponent(person.staff_id)}/removal`, { revocations: signed });
      say(`Đã gỡ ${person.display_name}: mọi phiên của người này đã kết thúc.`, "ok");
      await refresh();
    } catch (error) {
      say(errorText(error), "error");
    }
  }

  async function revocations(keys, staffId, reason) {
    const at = isoUtc();
    const out = [];
    for (const key of keys) {
      if (!key.approval || key.revocation) continue;
      const identity = await publicFromJson(key);
      out.push({ key_id: identity.keyId, revoked_at: at, signature: await sign(state.current.ed25519,
        revocationMessage(identity, staffId, reason, at)) });
    }
    return out;
  }

  const name = h("input", { autocomplete: "off", required: true, maxlength: 80 });
  const role = h("select", {}, Object.entries(ROLES).filter(([r]) => r !== "admin")
    .map(([value, label]) => h("option", { value }, label)));
  const invited = h("div", { "aria-live": "polite" });
  const inviteForm = h("form", { class: "card", "aria-labelledby": "invite-title", onsubmit: async (event) => {
    event.preventDefault();
    try {
      const result = await api("POST", "/admin/staff", { display_name: name.value, role: role.value });
      const adminKey = b64e(state.current.public.ed25519);
      show(invited, h("div", { class: "invite" },
        h("p", {}, `Đã mời ${name.value}. Trao trực tiếp cho người đó (không qua kênh công cộng):`),
        h("dl", {}, h("dt", {}, "Mã ghi danh"), h("dd", { "data-testid": "enrolment-code" }, result.enrolment_code),
          h("dt", {}, "Khóa quản trị"), h("dd", { "data-testid": "admin-key" }, adminKey),
          h("dt", {}, "Khóa ký của máy chủ"), h("dd", { "data-testid": "server-key" }, b64e(state.pins.serverKey)))));
      name.value = "";
      await refresh();
    } catch (error) {
      say(errorText(error), "error");
    }
  } }, h("h3", { id: "invite-title" }, "Mời nhân sự"), field("Họ tên (chỉ nhân sự thấy)", name),
  field("Vai trò", role), h("button", { type: "submit" }, "Tạo mã ghi danh"), invited);

  show(app.main, h("div", { class: "stack" }, h("h2", {}, "Quản trị"), status, inviteForm,
    h("section", { class: "card", "aria-labelledby": "pending-title" }, h("h3", { id: "pending-title" }, "Khóa chờ duyệt"), pending),
    h("section", { class: "card", "aria-labelledby": "people-title" }, h("h3", { id: "people-title" }, "Nhân sự"), people),
    h("section", { class: "card", "aria-labelledby": "audit-title" }, h("h3", { id: "audit-title" }, "Nhật ký (không có nội dung)"), audit)));
  await refresh();
}
