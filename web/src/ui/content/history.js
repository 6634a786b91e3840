// Every published version of a file: who changed what, when, why and who approved. Any two
// versions can be compared, and a reviewer puts an earlier one back in one step.

import { api } from "../../net/api.js";
import { state } from "../../session.js";
import { button, field, h, localTime, notice, show } from "../dom.js";
import { errorText } from "../labels.js";
import { diffView } from "./diff.js";

export async function historyView(app, file) {
  const { files } = await api("GET", "/content/files");
  const chosen = files.find((f) => f.file === file) || files[0];
  const picker = h("select", { onchange: () => app.go(`#/history/${picker.value}`) },
    files.map((f) => h("option", { value: f.file, selected: f === chosen }, `${f.label} (${f.file})`)));
  const status = h("div", { "aria-live": "polite" });
  const compared = h("div");
  const table = h("div");
  show(app.main, h("div", { class: "stack" }, h("h2", {}, "Lịch sử nội dung"),
    h("div", { class: "card" }, field("Tệp", picker)), status, table, compared));

  async function refresh() {
    const { versions } = await api("GET", `/content/history/${chosen.file}`);
    const picks = versions.map((v) => h("input", { type: "checkbox", value: v.id,
      "aria-label": `Chọn phiên bản ${v.id} để so sánh` }));
    show(table, h("section", { class: "card" },
      h("table", { class: "versions" }, h("thead", {}, h("tr", {}, ["", "Phiên bản", "Lúc", "Người sửa",
        "Người duyệt", "Lý do", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, versions.map((v, i) => h("tr", { "data-version": v.id },
        h("td", {}, picks[i]), h("td", {}, String(v.id), i === 0 ? " (đang dùng)" : ""),
        h("td", {}, localTime(v.at)), h("td", {}, v.author), h("td", {}, v.approver || "—"),
        h("td", {}, v.reason, v.retrain ? " · cần huấn luyện lại" : ""),
        h("td", {}, state.me.role === "reviewer" && i > 0
          ? button(`Khôi phục phiên bản ${v.id}`, () => rollback(v.id)) : null))))),
      button("So sánh hai phiên bản đã chọn", () => compare(picks))));
  }

  async function compare(picks) {
    const ids = picks.filter((p) => p.checked).map((p) => Number(p.value)).sort((a, b) => a - b);
    if (ids.length !== 2) return show(compared, notice("Chọn đúng hai phiên bản.", "error"));
    const result = await api("GET", `/content/diff?a=${ids[0]}&b=${ids[1]}`);
    show(compared, h("section", { class: "card" }, h("h3", {}, `Phiên bản ${ids[0]} → ${ids[1]}`),
      diffView(result.diff)));
  }

  async function rollback(id) {
    if (!window.confirm(`Khôi phục phiên bản ${id}? Bot sẽ dùng lại nội dung đó ngay.`)) return;
    try {
      await api("POST", `/content/versions/${id}/rollback`, { reason: `Khôi phục phiên bản ${id}` });
      show(status, notice(`Đã khôi phục phiên bản ${id}. Bot đang dùng nội dung này.`, "ok"));
      await refresh();
    } catch (error) {
      show(status, notice(error.message || errorText(error), "error"));
    }
  }

  await refresh();
}
