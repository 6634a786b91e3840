// What needs checking: facts reviewed over a year ago, entries not verified (hidden from
// users), and contacts nobody has test-called lately. A reviewer records a check here.

import { api } from "../../net/api.js";
import { state } from "../../session.js";
import { button, h, notice, show } from "../dom.js";
import { errorText } from "../labels.js";

export async function freshnessView(app) {
  const status = h("div", { "aria-live": "polite" });
  const body = h("div", { class: "stack" });
  show(app.main, h("div", { class: "stack" }, h("h2", {}, "Cần rà soát"), status, body));

  async function refresh() {
    const page = await api("GET", "/content/freshness");
    show(body,
      section("Thông tin rà soát đã quá 12 tháng", page.stale, (r) => `rà soát ${r.reviewed} (${r.age_days} ngày)`, "reviewed"),
      section("Mục chưa xác minh (không hiển thị cho người dùng)", page.unverified, (r) => `rà soát ${r.reviewed}`, null),
      section("Đầu mối chưa gọi thử trong 6 tháng", page.untested, (r) => `${r.number} · ${r.tested ? `gọi thử ${r.tested}` : "chưa từng gọi thử"}`, "tested"));
  }

  function section(title, rows, detail, what) {
    return h("section", { class: "card" }, h("h3", {}, `${title} (${rows.length})`),
      rows.length ? h("ul", {}, rows.map((r) => h("li", {}, h("a", { href: `#/content/${r.file}:${r.id}` }, r.label),
        ` · ${r.file} · ${detail(r)} `,
        what && state.me.role === "reviewer" ? button(what === "reviewed" ? `Đã rà soát ${r.id} hôm nay` : `Đã gọi thử ${r.id} hôm nay`,
          () => mark(r, what)) : null)))
        : h("p", { class: "hint" }, "Không có."));
  }

  async function mark(row, what) {
    try {
      await api("POST", `/content/files/${row.file}/entries/${row.id}/checked`, { what });
      show(status, notice(`Đã ghi nhận: ${row.label}.`, "ok"));
      await refresh();
    } catch (error) {
      show(status, notice(error.message || errorText(error), "error"));
    }
  }

  await refresh();
}
