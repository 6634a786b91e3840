// The programme managers' page: the month's figures under disclosure control, the funnel,
// response times against the 5-minute target, trends by month, and the monthly report.
// Every figure can be opened: its table by month and channel (or by status), its chart and
// how it is counted. Nothing here identifies anyone; hidden values show as <10 or x.

import { api } from "../../net/api.js";
import { button, field, h, notice, show } from "../dom.js";
import { errorText } from "../labels.js";

const HIDDEN_NOTE = "<10: dưới 10, không công bố để không ai bị nhận ra. x: ẩn thêm để không thể "
  + "suy ra các ô dưới 10 từ tổng, từ các tháng khác hay các cột khác.";

export async function indicatorsView(app, arg) {
  const [monthArg, opened] = (arg || "").split(":");
  const month = monthArg || thisMonth();
  const data = await api("GET", `/indicators?month=${encodeURIComponent(month)}`);
  const status = h("div", { "aria-live": "polite" });
  const picker = h("select", { onchange: () => app.go(`#/indicators/${picker.value}`) },
    lastMonths(12).map((m) => h("option", { value: m, selected: m === month }, vnMonth(m))));
  const detail = data.figures.find((f) => f.key === opened);
  show(app.main, h("div", { class: "stack" },
    h("h2", {}, `Chỉ số chương trình – tháng ${data.label}`),
    h("div", { class: "card toolbar" }, field("Tháng", picker), downloads(month, status), status),
    data.provisional ? notice("Số liệu tạm thời: tháng chưa kết thúc.", "info") : null,
    data.empty ? notice("Chưa có số liệu nào cho tháng này.", "info") : null,
    detail ? figureDetail(app, month, detail) : overview(app, month, data),
    h("p", { class: "hint" }, HIDDEN_NOTE,
      " Số liệu chỉ lấy từ các trường đã mã hóa, không bao giờ từ nội dung trò chuyện.")));
  if (detail) app.main.querySelector("h3")?.focus();
}

function overview(app, month, data) {
  const head = data.headline;
  const t = head.times;
  const tiles = [
    ["Yêu cầu được tư vấn viên trả lời", head.answered_share, "mục tiêu 100%"],
    ["Trả lời trong 5 phút", !t ? "chưa đủ ca" : t.within_5_min == null ? "x" : `${Math.round(t.within_5_min * 100)}%`, "mục tiêu 100%"],
    ["Đến lời trả lời đầu tiên", t ? `trung vị ${t.first_reply_p50_min.toFixed(0)} phút · 90% trong ${t.first_reply_p90_min.toFixed(0)} phút` : "chưa đủ ca", ""],
    ["Chờ lâu nhất", t ? `${t.longest_wait_min.toFixed(0)} phút` : "chưa đủ ca", ""],
    ["Thời gian xử lý ca (trung vị)", t && t.handle_p50_min != null ? `${t.handle_p50_min.toFixed(0)} phút` : "chưa đủ ca", ""],
    ["Lần theo dõi đã thực hiện (đã gọi lại)", head.follow_ups_done, ""],
  ];
  return h("div", { class: "stack" },
    h("ul", { class: "tiles", "aria-label": "Chỉ số chính" }, tiles.map(([label, value, hint]) =>
      h("li", { class: "card tile" }, h("span", { class: "tile-label" }, label),
        h("strong", { class: "tile-value" }, value), hint ? h("span", { class: "hint" }, hint) : null))),
    h("div", { class: "charts" },
      chart("Từ trò chuyện đến hỗ trợ", data.funnel),
      chart("Thời gian đến lời trả lời đầu tiên so với mục tiêu 5 phút", data.times_chart)),
    h("section", { class: "card", "aria-labelledby": "figures-title" },
      h("h3", { id: "figures-title" }, "Các chỉ số (bấm để xem chi tiết theo tháng)"),
      h("ul", { class: "figures" }, data.figures.map((f) => h("li", {},
        h("a", { href: `#/indicators/${month}:${f.key}`, "data-figure": f.key },
          h("span", {}, f.label), h("strong", {}, f.value)))))));
}

function figureDetail(app, month, f) {
  return h("section", { class: "card", "aria-labelledby": "figure-title" },
    h("p", {}, h("a", { href: `#/indicators/${month}` }, "← Tất cả chỉ số")),
    h("h3", { id: "figure-title", tabindex: "-1" }, f.label),
    h("p", { class: "definition" }, "Cách tính: ", f.definition),
    chart(`${f.label} theo tháng`, f.chart),
    h("table", { class: "figure-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Tháng"),
        f.columns.map((c) => h("th", { scope: "col" }, c)), h("th", { scope: "col" }, "Cộng"))),
      h("tbody", {}, f.grid.map((line, i) => h("tr", { class: i === f.grid.length - 1 ? "total" : null },
        h("th", { scope: "row" }, f.rows[i]), line.map((v) => h("td", {}, v)))))));
}

// A chart is SVG made by the server (the same as in the monthly report), shown as an image:
// an image cannot run script, and nothing is parsed into the page.
function chart(title, svg) {
  const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
  return h("figure", { class: "card chart" }, h("figcaption", {}, title),
    h("img", { src: url, alt: title }));
}

function downloads(month, status) {
  const get = async (format) => {
    show(status);
    try {
      const file = await api("GET", `/indicators/report?month=${month}&format=${format}`);
      const body = file.base64 ? Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0)) : file.text;
      const type = { html: "text/html", csv: "text/csv", pdf: "application/pdf" }[format];
      const link = h("a", { href: URL.createObjectURL(new Blob([body], { type })), download: file.filename });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      show(status, notice(`Đã tải ${file.filename}${file.provisional ? " (số liệu tạm thời)" : ""}.`, "ok"));
    } catch (error) {
      show(status, notice(error.message || errorText(error), "error"));
    }
  };
  return h("div", { class: "actions" }, h("span", {}, "Báo cáo tháng: "),
    button("Tải HTML", () => get("html")), button("Tải CSV", () => get("csv")),
    button("Tải PDF", () => get("pdf")));
}

function thisMonth() {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
}

function lastMonths(count) {
  const out = [];
  const now = new Date();
  for (let i = 0; i < count; i++) {
    const d = new Date(now.getFullYear(), now.getMonth() - i, 1);
    out.push(`${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`);
  }
  return out;
}

function vnMonth(month) {
  const [year, number] = month.split("-");
  return `${Number(number)}/${year}`;
}
