// Editing content: pick a file and an entry, change it in a form checked as you type, try
// it in the preview, and send it for review (or publish it, where one person may).
// Whole files can be downloaded and uploaded as YAML, with the same checks.

import { api } from "../../net/api.js";
import { button, field, h, notice, show } from "../dom.js";
import { errorText } from "../labels.js";
import { diffView } from "./diff.js";
import { entryForm } from "./form.js";
import { previewPanel } from "./preview.js";

export async function contentView(app, arg) {
  const [file, entry] = (arg || "").split(":");
  const overview = await api("GET", "/content/files");
  app.previewAvailable = overview.preview;
  const files = overview.files;
  const chosen = files.find((f) => f.file === file) || files[0];
  const picker = h("select", { onchange: () => app.go(`#/content/${picker.value}`) },
    files.map((f) => h("option", { value: f.file, selected: f === chosen },
      `${f.label} (${f.file})${f.sensitive ? " – cần người duyệt" : ""}`)));
  const side = h("nav", { class: "entries", "aria-label": "Các mục" });
  const work = h("div", { class: "stack" });
  show(app.main, h("div", { class: "stack" }, h("h2", {}, "Sửa nội dung"),
    h("div", { class: "card" }, field("Loại nội dung", picker), bulk(app, chosen)),
    h("div", { class: "content-layout" }, side, work)));

  if (!chosen.form) {
    show(work, notice("Tệp này sửa bằng cách tải xuống, sửa và tải lên cả tệp (ở trên).", "info"));
    return;
  }
  const list = await api("GET", `/content/files/${chosen.file}`);
  show(side, h("ul", {}, list.entries.map((e) => h("li", {},
    h("a", { href: `#/content/${chosen.file}:${e.id}`, "aria-current": e.id === entry ? "page" : null },
      e.label, h("span", { class: "id" }, ` (${e.id})`)))),
  h("li", {}, h("a", { href: `#/content/${chosen.file}:+`, class: "button" }, "Thêm mục mới"))));
  if (!entry) {
    show(work, h("p", { class: "hint" }, "Chọn một mục ở bên trái để sửa."));
    return;
  }
  await editEntry(app, work, chosen, entry, overview, list);
}

async function editEntry(app, work, file, chosenId, overview, list) {
  const adding = chosenId === "+";
  const entryId = adding ? null : chosenId;
  const opened = adding
    ? { sha: list.sha, fields: list.fields, values: {}, pending: [] }
    : await api("GET", `/content/files/${file.file}/entries/${encodeURIComponent(entryId)}`);
  const status = h("div", { "aria-live": "polite" });
  const form = entryForm({ file: file.file, entry: entryId, fields: opened.fields, values: opened.values,
    onChange: () => { preview?.changed(); show(status); } });
  const proposal = () => ({ file: file.file, entry: entryId, values: form.read() });
  const preview = overview.preview ? previewPanel(proposal) : null;
  const reason = h("textarea", { rows: 2, maxlength: 500, required: true });
  const canPublish = overview.self_publish && !file.sensitive;

  async function submit(publish) {
    show(status);
    if (!reason.value.trim()) {
      show(status, notice("Hãy ghi lý do thay đổi.", "error"));
      reason.focus();
      return;
    }
    try {
      const done = await api("POST", "/content/changes", { ...proposal(), base_sha: opened.sha,
        reason: reason.value, publish });
      show(status, notice(publish ? "Đã đăng. Bot dùng nội dung mới ngay."
        : `Đã gửi đề xuất số ${done.id}. Nội dung sẽ được dùng khi người duyệt đồng ý.`, "ok"));
      submitButtons.forEach((b) => { b.disabled = true; });
    } catch (error) {
      if (error.code === "invalid") {
        form.showProblems(error.doc.problems);
        show(status, notice("Nội dung chưa hợp lệ: xem các ô được đánh dấu.", "error"));
      } else if (error.code === "conflict") {
        show(status, notice(error.message, "error"), diffView(error.doc?.diff, "So sánh với thay đổi khác"));
      } else {
        show(status, notice(errorText(error), "error"));
      }
    }
  }

  const submitButtons = [button(file.sensitive || !canPublish ? "Gửi duyệt" : "Gửi duyệt (không đăng ngay)",
    () => submit(false), { class: "primary" })];
  if (canPublish) submitButtons.push(button("Đăng ngay", () => submit(true)));
  const pending = opened.pending.length
    ? notice(`Đang có đề xuất chờ duyệt cho mục này (của ${opened.pending.map((c) => c.author).join(", ")}).`, "info")
    : null;
  show(work, h("div", { class: "case-layout" },
    h("section", { class: "card", "aria-labelledby": "entry-title" },
      h("h3", { id: "entry-title" }, adding ? "Mục mới" : `Mục ${entryId}`),
      file.sensitive ? h("p", { class: "hint" }, "Thay đổi ở mục này cần một người duyệt khác trước khi được dùng.") : null,
      pending, form.node, field("Lý do thay đổi", reason), h("div", { class: "actions" }, submitButtons), status),
    preview?.node));
}

function bulk(app, file) {
  const status = h("div", { "aria-live": "polite" });
  const upload = h("input", { type: "file", accept: ".yml,.yaml,text/yaml" });
  const reason = h("input", { autocomplete: "off", maxlength: 500 });
  async function download() {
    const doc = await api("GET", `/content/files/${file.file}/yaml`);
    const link = h("a", { href: URL.createObjectURL(new Blob([doc.text], { type: "text/yaml" })),
      download: file.file });
    link.click();
    URL.revokeObjectURL(link.href);
  }
  async function send() {
    show(status);
    const chosen = upload.files?.[0];
    if (!chosen) return show(status, notice("Chọn tệp YAML để tải lên.", "error"));
    if (!reason.value.trim()) return show(status, notice("Hãy ghi lý do thay đổi.", "error"));
    try {
      const current = await api("GET", `/content/files/${file.file}/yaml`);
      const done = await api("POST", "/content/changes", { file: file.file, text: await chosen.text(),
        base_sha: current.sha, reason: reason.value });
      show(status, notice(`Đã gửi đề xuất số ${done.id} cho cả tệp.`, "ok"));
    } catch (error) {
      const problems = error.doc?.problems || [];
      show(status, notice(errorText(error), "error"), problems.length ? h("ul", { class: "notice error" },
        problems.map((p) => h("li", {}, `${p.entry} · ${p.field}: ${p.message}`))) : null,
      error.doc?.diff ? diffView(error.doc.diff) : null);
    }
  }
  // The chosen file, tried in the preview before it is sent.
  let uploaded = "";
  upload.addEventListener("change", async () => {
    uploaded = upload.files?.[0] ? await upload.files[0].text() : "";
    preview?.changed();
  });
  const preview = app.previewAvailable ? previewPanel(() => (uploaded ? { file: file.file, text: uploaded } : {}), "cả tệp") : null;
  return h("details", { class: "panel" }, h("summary", {}, "Sửa cả tệp bằng YAML"),
    button(`Tải xuống ${file.file}`, () => download().catch((e) => show(status, notice(errorText(e), "error")))),
    field("Tệp YAML đã sửa", upload), field("Lý do thay đổi (cả tệp)", reason),
    button("Tải lên và gửi duyệt", send), status,
    preview ? h("div", { class: "bulk-preview" }, preview.node) : null);
}
