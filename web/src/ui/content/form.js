// One entry as a form: an input per field of its type, and the content model's own
// verdict shown at the field as the editor types (checked by the server, which loads the
// whole proposed content as the bot would).

import { api } from "../../net/api.js";
import { field, h, show, uid } from "../dom.js";
import { NEEDS } from "../labels.js";

const CHOICE_LABELS = {
  verified: "Đã xác minh", unverified: "Chưa xác minh", women: "Phụ nữ", men: "Nam giới",
  ...NEEDS, children: "Trẻ em",
  // Legal topics and forms of violence.
  workplace: "Nơi làm việc", domestic: "Gia đình", criminal: "Hình sự", fines: "Xử phạt hành chính",
  bodies: "Cơ quan có trách nhiệm", physical: "Thể chất", verbal: "Lời nói",
  non_verbal: "Phi lời nói", psychological: "Tâm lý – tinh thần", economic: "Kinh tế",
  sexual: "Tình dục", online: "Trên mạng", overview: "Tổng quan",
};

export function entryForm({ file, entry, fields, values, onChange }) {
  const inputs = new Map();
  const errors = new Map();
  for (const spec of fields) {
    const errorId = uid("err");
    errors.set(spec.name, h("p", { class: "field-error", id: errorId, role: "alert" }));
    inputs.set(spec.name, widget(spec, values[spec.name], errorId));
  }
  const general = h("div", { class: "problems", "aria-live": "polite" });
  const node = h("div", { class: "entry-form" }, fields.map((spec) => {
    const wrapped = field(spec.label, inputs.get(spec.name).node);
    wrapped.append(errors.get(spec.name));
    wrapped.dataset.field = spec.name;
    return wrapped;
  }), general);

  let timer = null;
  let asked = 0;
  node.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 350);
    onChange?.();
  });

  function read() {
    const out = {};
    for (const [name, input] of inputs) out[name] = input.value();
    return out;
  }

  async function check() {
    const mine = ++asked;
    try {
      const result = await api("POST", "/content/check", { file, entry, values: read() });
      if (mine === asked) showProblems(result.problems);
      return result.problems;
    } catch {
      return null; // the submit will say it
    }
  }

  function showProblems(problems) {
    for (const [name, slot] of errors) {
      show(slot);
      inputs.get(name).node.removeAttribute("aria-invalid");
    }
    const elsewhere = [];
    for (const p of problems) {
      const here = (p.entry === entry || p.entry === "-" || !entry) && p.file === file
        && errors.has(p.field);
      if (here) {
        errors.get(p.field).append(p.message, " ");
        inputs.get(p.field).node.setAttribute("aria-invalid", "true");
      } else {
        elsewhere.push(p);
      }
    }
    show(general, elsewhere.length ? h("ul", { class: "notice error" }, elsewhere.map((p) =>
      h("li", {}, `${p.file} · ${p.entry} · ${p.field}: ${p.message}`))) : null);
  }

  return { node, read, check, showProblems };
}

function widget(spec, value, errorId) {
  const described = { "aria-describedby": errorId, name: spec.name };
  if (spec.kind === "bool") {
    const box = h("input", { type: "checkbox", ...described, checked: value === true });
    return { node: box, value: () => box.checked };
  }
  if (spec.kind === "choice") {
    const select = h("select", described, h("option", { value: "" }, "—"),
      spec.choices.map((c) => h("option", { value: c, selected: c === value }, CHOICE_LABELS[c] || c)));
    return { node: select, value: () => select.value };
  }
  if (spec.kind === "codes") {
    const value0 = value || [];
    const chosen = new Set(value0);
    const boxes = spec.choices.map((c) => h("input", { type: "checkbox", value: c, checked: chosen.has(c) }));
    const group = h("fieldset", { class: "codes", ...described }, h("legend", { class: "visually-hidden" }, spec.label),
      spec.choices.map((c, i) => h("label", {}, boxes[i], ` ${CHOICE_LABELS[c] || c}`)));
    // Codes already chosen keep their order (no diff for an unchanged list); new ones follow.
    const ticked = () => boxes.filter((b) => b.checked).map((b) => b.value);
    const read = () => [...value0.filter((c) => ticked().includes(c)),
      ...ticked().filter((c) => !value0.includes(c))];
    return { node: group, value: read };
  }
  const long = ["long", "lines", "yaml"].includes(spec.kind);
  const input = long
    ? h("textarea", { rows: spec.kind === "yaml" ? 8 : 4, spellcheck: spec.kind !== "yaml", ...described })
    : h("input", { type: spec.kind === "date" ? "date" : "text", autocomplete: "off", ...described });
  input.value = value ?? "";
  return { node: input, value: () => input.value };
}
