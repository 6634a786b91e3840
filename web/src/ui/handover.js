// Handing a case to a named colleague (what was said is re-shared here, to their keys) or
// back to the queue, with a note only staff read.

import { api } from "../net/api.js";
import { sharesFor } from "../crypto/casefile.js";
import { state } from "../session.js";
import { button, field, h, notice, panel, show } from "./dom.js";
import { ROLES, errorText } from "./labels.js";
import { verifiedKeys } from "./readers.js";

export function handoverPanel(screen) {
  const to = h("select", {}, h("option", { value: "" }, "Đưa lại hàng chờ"));
  const note = h("textarea", { rows: 2, maxlength: 2000 });
  const status = h("div", { "aria-live": "assertive" });
  api("GET", "/staff").then(({ staff }) => staff
    .filter((person) => person.staff_id !== state.me.staff_id)
    .forEach((person) => to.append(h("option", { value: person.staff_id },
      `${person.display_name} (${ROLES[person.role] || person.role})`)))).catch(() => {});

  async function handOver() {
    if (!screen.holding && state.me.role !== "supervisor") return;
    show(status, notice("Đang chuyển ca…"));
    try {
      const target = to.value || null;
      const body = { to: target, shares: [] };
      if (target) {
        const keys = await verifiedKeys({ staffIds: [target] });
        if (!keys.length) throw new Error("Đồng nghiệp này chưa có khóa được duyệt.");
        body.shares = await sharesFor(screen.doc, screen.opened, state.identities, keys);
        if (note.value.trim()) {
          body.note = await screen.sealNote(note.value.trim(), await screen.noteReaders(target));
        }
      }
      await api("POST", `/cases/${encodeURIComponent(screen.code)}/handover`, body);
      state.drafts.delete(screen.code);
      screen.app.say(target ? `Đã chuyển ca ${screen.code}.` : `Đã đưa ca ${screen.code} lại hàng chờ.`, "ok");
      screen.app.go("#/queue");
    } catch (error) {
      show(status, notice(error.code ? errorText(error) : error.message, "error"));
    }
  }

  return panel("Chuyển ca", false, field("Chuyển cho", to),
    field("Ghi chú cho người nhận (chỉ nhân sự đọc)", note), button("Chuyển ca", handOver), status);
}
