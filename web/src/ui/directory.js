// The referral directory (content/contacts.yml): search by need and province, and insert
// an entry into the reply being written.

import { api } from "../net/api.js";
import { button, field, h, panel, show } from "./dom.js";
import { NEEDS } from "./labels.js";

const fold = (text) => String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "")
  .replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase();

export function contactLine(c) {
  return `${c.name}: ${c.number} (${c.hours}, ${c.cost})`;
}

export function directoryPanel(insert) {
  const query = h("input", { type: "search", autocomplete: "off" });
  const need = h("select", {}, h("option", { value: "" }, "Mọi nhu cầu"),
    Object.entries(NEEDS).map(([code, label]) => h("option", { value: code }, label)));
  const province = h("input", { type: "search", autocomplete: "off" });
  const results = h("ul", { class: "directory", "aria-live": "polite" });
  let contacts = [];

  function draw() {
    const words = fold(query.value).split(/\s+/).filter(Boolean);
    const place = fold(province.value.trim());
    const found = contacts.filter((c) => {
      const text = fold(`${c.name} ${c.serves} ${c.number}`);
      const region = fold(c.region);
      return words.every((w) => text.includes(w)) && (!need.value || c.needs.includes(need.value))
        && (!place || region.includes(place) || region.includes("toan quoc"));
    });
    show(results, found.length ? found.map((c) => h("li", {},
      h("p", { class: "name" }, `${c.name} – ${c.number}`),
      h("p", { class: "hint" }, `${c.serves}. ${c.hours}, ${c.cost}. ${c.region}.`),
      button(`Chèn “${c.name}” vào tin nhắn`, () => insert(contactLine(c)))))
      : h("li", { class: "empty" }, "Không có nơi hỗ trợ phù hợp."));
  }

  for (const input of [query, need, province]) input.addEventListener("input", draw);
  api("GET", "/directory").then((doc) => {
    contacts = doc.contacts;
    draw();
  }).catch(() => show(results, h("li", { class: "empty" }, "Chưa tải được danh bạ.")));
  return panel("Danh bạ chuyển tuyến", false, field("Tìm", query), field("Nhu cầu", need),
    field("Tỉnh, thành phố", province), results);
}

export async function loadDirectory() {
  return (await api("GET", "/directory")).contacts;
}
