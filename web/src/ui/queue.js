// The queue, live: most urgent first, then oldest; how many wait and for how long. A
// counselor takes the next case or a chosen one; when someone else takes it, it goes.

import { api } from "../net/api.js";
import { state } from "../session.js";
import { button, h, minutesSince, notice, show } from "./dom.js";
import { RISK, STATUS, errorText } from "./labels.js";

export async function queueView(app) {
  const summary = h("p", { class: "summary", "aria-live": "polite", "data-testid": "queue-summary" });
  const list = h("ol", { class: "queue", "aria-label": "Các ca" });
  const status = h("div", { "aria-live": "assertive" });
  const next = button("Nhận ca tiếp theo", () => claim(null), { class: "primary", accesskey: "n" });
  let cases = [];

  async function refresh() {
    try {
      cases = (await api("GET", "/cases")).cases;
      draw();
    } catch (error) {
      show(status, notice(errorText(error), "error"));
    }
  }

  function draw() {
    const waiting = cases.filter((c) => c.status === "queued");
    const longest = waiting.reduce((m, c) => Math.max(m, minutesSince(c.created_at)), 0);
    show(summary, waiting.length
      ? `${waiting.length} ca đang chờ · chờ lâu nhất ${longest} phút`
      : "Không có ca nào đang chờ.");
    next.disabled = !waiting.length;
    show(list, cases.map(row));
    if (!cases.length) show(list, h("li", { class: "empty" }, "Hàng chờ trống."));
  }

  function row(c) {
    const mine = c.holder === state.me.staff_id;
    const urgent = c.risk === "danger" || c.risk === "self_harm";
    const actions = [];
    if (c.status === "queued") actions.push(button(`Nhận ca ${c.code}`, () => claim(c.code)));
    if (mine || state.me.role === "supervisor") {
      actions.push(h("a", { href: `#/case/${c.code}`, class: "button" }, `Mở ca ${c.code}`));
    }
    if (state.me.role === "supervisor" && c.status === "claimed" && !mine) {
      actions.push(button(`Tiếp quản ${c.code}`, () => takeOver(c.code)));
    }
    return h("li", { class: `case ${urgent ? "urgent" : ""}`, "data-code": c.code },
      h("span", { class: "code" }, c.code),
      h("span", { class: `risk risk-${c.risk}` }, RISK[c.risk] || c.risk),
      h("span", { class: "wait" }, `chờ ${minutesSince(c.created_at)} phút`),
      h("span", { class: "state" }, STATUS[c.status] || c.status,
        c.claimed_by && !mine ? ` (${c.claimed_by})` : "", mine ? " (bạn)" : ""),
      h("span", { class: "actions" }, actions));
  }

  async function claim(code) {
    const target = code || cases.find((c) => c.status === "queued")?.code;
    if (!target) return;
    try {
      await api("POST", `/cases/${encodeURIComponent(target)}/claim`);
      app.go(`#/case/${target}`);
    } catch (error) {
      show(status, notice(error.status === 409
        ? `Ca ${target} vừa được người khác nhận. Hàng chờ đã được cập nhật.` : errorText(error),
      "error"));
      await refresh();
    }
  }

  async function takeOver(code) {
    try {
      await api("POST", `/cases/${encodeURIComponent(code)}/takeover`);
      app.go(`#/case/${code}`);
    } catch (error) {
      show(status, notice(errorText(error), "error"));
    }
  }

  show(app.main, h("section", { "aria-labelledby": "queue-title" },
    h("h2", { id: "queue-title" }, "Hàng chờ"), summary, h("div", { class: "toolbar" }, next),
    status, list));
  app.onEvent((event) => {
    if (event.type === "queue" || event.type === "case" || event.type === "resync") refresh();
  });
  const ticker = setInterval(() => (document.body.contains(list) ? draw() : clearInterval(ticker)),
    30000);
  await refresh();
}
