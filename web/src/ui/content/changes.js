// Changes waiting for review: what changed (as a diff), who proposed it and why. A reviewer
// other than the author approves (it goes live at once) or rejects with a reason; the
// author can withdraw. When example questions changed, a retrain can be started here.

import { api } from "../../net/api.js";
import { state } from "../../session.js";
import { button, field, h, localTime, notice, show } from "../dom.js";
import { errorText } from "../labels.js";
import { diffView } from "./diff.js";

export async function changesView(app) {
  const status = h("div", { "aria-live": "polite" });
  const list = h("div", { class: "stack" });
  const retrain = h("div", { "aria-live": "polite" });
  show(app.main, h("div", { class: "stack" }, h("h2", {}, "Đề xuất chờ duyệt"), status, retrain, list));

  async function refresh() {
    const { changes } = await api("GET", "/content/changes?status=pending");
    if (!changes.length) show(list, h("p", { class: "hint" }, "Không có đề xuất nào đang chờ."));
    else show(list, await Promise.all(changes.map(card)));
    await drawRetrain();
  }

  async function card(summary) {
    const change = await api("GET", `/content/changes/${summary.id}`);
    const mine = change.author_id === state.me.staff_id;
    const note = h("input", { autocomplete: "off", maxlength: 500 });
    const actions = [];
    if (state.me.role === "reviewer" && !mine) {
      actions.push(button(`Duyệt và đăng đề xuất ${change.id}`, () => act("approval", change.id), { class: "primary" }));
      actions.push(field("Lý do từ chối", note), button(`Từ chối đề xuất ${change.id}`,
        () => act("rejection", change.id, { note: note.value })));
    } else if (state.me.role === "reviewer") {
      actions.push(h("p", { class: "hint" }, "Đề xuất của bạn cần một người duyệt khác."));
    }
    if (mine) actions.push(button(`Rút lại đề xuất ${change.id}`, () => act("withdrawal", change.id)));
    return h("section", { class: "card", "data-change": change.id, "aria-labelledby": `change-${change.id}` },
      h("h3", { id: `change-${change.id}` }, `Đề xuất ${change.id}: ${change.file}${change.entry ? ` · ${change.entry}` : " (cả tệp)"}`),
      h("p", {}, `${change.author} · ${localTime(change.created_at)} · Lý do: ${change.reason}`),
      change.sensitive ? h("p", { class: "hint" }, "Nội dung nhạy cảm: cần người duyệt thứ hai.") : null,
      diffView(change.diff, `Thay đổi của đề xuất ${change.id}`), h("div", { class: "actions" }, actions));
  }

  async function act(what, id, body = {}) {
    show(status);
    try {
      const result = await api("POST", `/content/changes/${id}/${what}`, body);
      const said = { approval: `Đã duyệt và đăng đề xuất ${id}.`, rejection: `Đã từ chối đề xuất ${id}.`,
        withdrawal: `Đã rút lại đề xuất ${id}.` }[what];
      show(status, notice(said + (result.retrain ? " Câu hỏi mẫu đã thay đổi: cần huấn luyện lại mô hình." : ""), "ok"));
      await refresh();
    } catch (error) {
      show(status, notice(error.message || errorText(error), "error"),
        error.doc?.diff ? diffView(error.doc.diff) : null);
    }
  }

  async function drawRetrain() {
    let info;
    try {
      info = await api("GET", "/content/retrain");
    } catch {
      return show(retrain);
    }
    const states = { training: "Đang huấn luyện mô hình mới; mô hình cũ vẫn đang trả lời.",
      loading: "Đang nạp mô hình mới; mô hình cũ vẫn đang trả lời.", done: info.detail, failed: info.detail };
    const parts = [];
    if (states[info.state] && info.state !== "idle") parts.push(notice(states[info.state], info.state === "failed" ? "error" : "info"));
    if (info.needed && !["training", "loading"].includes(info.state)) {
      parts.push(notice("Câu hỏi mẫu đã thay đổi: mô hình cần được huấn luyện lại để hiểu chúng.", "info"));
      if (state.me.role === "reviewer") parts.push(button("Huấn luyện lại mô hình", async () => {
        try {
          await api("POST", "/content/retrain");
        } catch (error) {
          show(status, notice(errorText(error), "error"));
        }
        await drawRetrain();
      }));
    }
    show(retrain, parts.length ? h("section", { class: "card" }, h("h3", {}, "Mô hình hiểu tin nhắn"), parts) : null);
  }

  await refresh();
}
