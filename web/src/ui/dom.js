// Building the page without ever parsing a string as HTML: every text a user, a counselor
// or the server wrote goes in as a text node, so nothing in a case can run as code.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "class") {
      node.className = value;
    } else if (value === true) {
      node.setAttribute(name, "");
    } else {
      node.setAttribute(name, String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace what ``node`` shows. */
export function show(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

let nextId = 0;
export const uid = (prefix) => `${prefix}-${++nextId}`;

/** A labelled form field (the label is what a screen reader announces). */
export function field(label, input, hint) {
  const id = input.id || uid("f");
  input.id = id;
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) input.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: id }, label), input,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null);
}

/** A panel that opens and closes (keyboard and screen-reader friendly, no script needed). */
export function panel(title, open, ...children) {
  return h("details", { class: "panel", open }, h("summary", {}, h("h3", {}, title)), ...children);
}

export function button(label, onclick, attrs = {}) {
  return h("button", { type: "button", ...attrs, onclick }, label);
}

/** A status line that screen readers announce; ``kind`` is "info", "error" or "ok". */
export function notice(text, kind = "info") {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

export function minutesSince(iso, now = Date.now()) {
  return Math.max(0, Math.floor((now - Date.parse(iso)) / 60000));
}

export function localTime(iso) {
  const date = new Date(iso);
  return date.toLocaleString("vi-VN", { hour: "2-digit", minute: "2-digit", day: "2-digit",
    month: "2-digit" });
}
