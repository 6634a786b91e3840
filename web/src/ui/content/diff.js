// A unified diff as the editor reads it: removed lines red, added lines green.

import { h } from "../dom.js";

export function diffView(text, label = "Khác biệt") {
  if (!text) return h("p", { class: "hint" }, "Không có khác biệt.");
  const lines = text.split("\n").filter((line, i, all) => line || i < all.length - 1);
  return h("pre", { class: "diff", "aria-label": label, tabindex: "0" }, lines.map((line) => {
    const kind = line.startsWith("+++") || line.startsWith("---") ? "head"
      : line.startsWith("+") ? "added" : line.startsWith("-") ? "removed"
        : line.startsWith("@@") ? "hunk" : "same";
    return h("span", { class: `line ${kind}` }, `${line}\n`);
  }));
}
