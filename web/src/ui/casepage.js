// One case: what the user chose to share and the conversation, opened on this screen; the
// live chat both ways; private notes, the referral directory, canned replies, handover and
// the wrap-up at the side.

import { api } from "../net/api.js";
import { CaseRefused, openCase, sharesFor } from "../crypto/casefile.js";
import { seal, signItem } from "../crypto/sealing.js";
import { SealContext, isoUtc } from "../crypto/statements.js";
import { utf8 } from "../crypto/encoding.js";
import { rememberRevocations, state } from "../session.js";
import { button, field, h, localTime, minutesSince, notice, panel, show } from "./dom.js";
import { RISK, SHARE, STATUS, errorText } from "./labels.js";
import { verifiedKeys } from "./readers.js";
import { directoryPanel } from "./directory.js";
import { handoverPanel } from "./handover.js";
import { wrapUpPanel } from "./wrapup.js";

export async function caseView(app, code) {
  const view = new CaseScreen(app, code);
  await view.load();
}

class CaseScreen {
  constructor(app, code) {
    this.app = app;
    this.code = code;
    this.doc = null; // the sealed case as last fetched (items accumulate)
    this.opened = null;
    this.status = h("div", { "aria-live": "assertive" });
    this.head = h("div", { class: "case-head" });
    this.conversation = h("ol", { class: "conversation", "aria-label": "Cuộc trò chuyện",
      tabindex: "0" });
    this.notes = h("ol", { class: "notes", "aria-label": "Ghi chú riêng" });
    this.composer = h("textarea", { rows: 4, maxlength: 4000,
      "aria-label": "Tin nhắn gửi người dùng", oninput: () => this.keepDraft(),
      onkeydown: (event) => {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) this.send();
      } });
    this.composer.value = state.drafts.get(code) || "";
    this.names = new Map(); // staff id -> display name, for notes
    this.sendButton = button("Gửi (Ctrl+Enter)", () => this.send(), { class: "primary" });
  }

  keepDraft() {
    state.drafts.set(this.code, this.composer.value);
  }

  async load() {
    try {
      this.doc = await api("GET", `/cases/${encodeURIComponent(this.code)}`);
    } catch (error) {
      show(this.app.main, notice(error.status === 403
        ? `Ca ${this.code} đang do người khác giữ; bạn không mở được.` : errorText(error), "error"),
      h("a", { href: "#/queue" }, "Về hàng chờ"));
      return;
    }
    if (!await this.open()) return;
    try {
      const { staff } = await api("GET", "/staff");
      staff.forEach((person) => this.names.set(person.staff_id, person.display_name));
    } catch {
      // Notes then name their author "đồng nghiệp".
    }
    this.layout();
    await this.reshareAfterRotation();
    this.app.onEvent((event) => this.onEvent(event));
  }

  async open() {
    try {
      this.opened = await openCase(this.doc, state.pins, state.identities, state.known);
      await rememberRevocations(this.opened.learned);
      return true;
    } catch (error) {
      show(this.app.main, notice(error instanceof CaseRefused ? error.message
        : `Không mở được ca: ${error.message}`, "error"), h("a", { href: "#/queue" }, "Về hàng chờ"));
      return false;
    }
  }

  get holding() {
    return this.opened.case.holder === state.me.staff_id;
  }

  layout() {
    const canned = h("select", { "aria-label": "Câu trả lời mẫu", onchange: (event) => {
      const text = event.target.selectedOptions[0]?.dataset.text;
      if (text) {
        this.composer.value = this.composer.value ? `${this.composer.value}\n${text}` : text;
        this.keepDraft();
        this.composer.focus();
      }
      event.target.value = "";
    } }, h("option", { value: "" }, "Chèn câu trả lời mẫu…"));
    api("GET", "/canned").then(({ canned: replies }) => replies.forEach((reply) => canned.append(
      h("option", { value: reply.id, "data-text": reply.text }, reply.title)))).catch(() => {});
    const noteInput = h("textarea", { rows: 3, maxlength: 4000 });
    const side = h("aside", { class: "side", "aria-label": "Công cụ" },
      panel("Ghi chú riêng", true,
        h("p", { class: "hint" }, "Chỉ nhân sự đọc được; người dùng không bao giờ thấy."), this.notes,
        field("Ghi chú mới", noteInput), button("Lưu ghi chú", () => this.addNote(noteInput))),
      directoryPanel((line) => {
        this.composer.value = this.composer.value ? `${this.composer.value}\n${line}` : line;
        this.keepDraft();
        this.composer.focus();
      }),
      handoverPanel(this),
      wrapUpPanel(this));
    show(this.app.main, h("div", { class: "case-layout" },
      h("section", { class: "thread", "aria-labelledby": "case-title" }, this.head, this.status,
        this.conversation,
        h("div", { class: "compose" }, canned, this.composer, this.sendButton)),
      side));
    this.draw();
  }

  draw() {
    const view = this.opened;
    const c = view.case;
    const risk = view.sealedRisk || c.risk;
    const userState = c.status === "ended" ? "Người dùng đã rời cuộc trò chuyện."
      : c.status === "claimed" ? (c.last_user_at
        ? `Người dùng đang trong cuộc trò chuyện · nhắn lần cuối ${minutesSince(c.last_user_at)} phút trước`
        : "Người dùng đang chờ bạn trả lời")
        : STATUS[c.status] || c.status;
    show(this.head, h("h2", { id: "case-title" }, `Ca ${c.code}`),
      h("p", { class: `risk risk-${risk}` }, RISK[risk] || risk),
      h("p", { class: "user-state", "data-testid": "user-state" }, userState),
      view.sealedRisk && c.risk !== view.sealedRisk
        ? notice("Mức rủi ro máy chủ ghi khác với mức được niêm phong trong ca; ở trên là mức niêm phong.", "error")
        : null,
      !this.holding && c.holder ? h("p", { class: "hint" }, `Đang do ${c.claimed_by} giữ.`) : null);
    const nodes = [this.bodyNode(view.body)];
    for (const item of view.items.filter((i) => i.number > 0)) nodes.push(this.itemNode(item));
    show(this.conversation, nodes);
    show(this.notes, view.notes.length ? view.notes.map((note) => h("li", {},
      h("span", { class: "meta" }, `${localTime(note.at)} · ${note.author === state.me.staff_id
        ? "bạn" : this.names.get(note.author) || "đồng nghiệp"}`),
      h("p", {}, note.text ?? "[không mở được bằng khóa trên máy này]")))
      : h("li", { class: "empty" }, "Chưa có ghi chú."));
    const live = c.status === "claimed" && this.holding;
    this.composer.disabled = !live;
    this.sendButton.disabled = !live;
    this.conversation.lastElementChild?.scrollIntoView({ block: "nearest" });
  }

  bodyNode(body) {
    if (!body) {
      return h("li", { class: "body" }, "Phần chia sẻ ban đầu không mở được bằng khóa trên máy này "
        + "(ca được mở trước khi khóa của bạn được duyệt). Hãy hỏi lại người dùng hoặc nhờ giám sát viên.");
    }
    const parts = [h("p", {}, `Người dùng đồng ý chia sẻ: ${SHARE[body.share] || body.share}`)];
    for (const turn of Array.isArray(body.transcript) ? body.transcript : []) {
      parts.push(h("p", { class: `turn ${turn.from === "user" ? "from-user" : "from-bot"}` },
        h("span", { class: "who" }, turn.from === "user" ? "Người dùng: " : "Bot: "), String(turn.text ?? "")));
    }
    if (body.note) parts.push(h("p", { class: "turn from-user" }, h("span", { class: "who" }, "Ghi chú của người dùng: "), String(body.note)));
    const contact = body.contact || {};
    parts.push(h("p", {}, contact.method === "callback"
      ? `Liên hệ: gọi lại số ${contact.phone}, khung giờ: ${contact.window || "bất kỳ lúc nào"}`
      : "Liên hệ: nhắn tin trong cuộc trò chuyện này"));
    return h("li", { class: "body" }, h("h3", {}, "Những gì người dùng chia sẻ"), parts);
  }

  itemNode(item) {
    const who = item.direction === "user" ? "Người dùng" : "Tư vấn viên";
    return h("li", { class: `message from-${item.direction}`, "data-item": item.number },
      h("span", { class: "meta" }, `${who} · ${localTime(item.at)}`),
      h("p", {}, item.text ?? "[không mở được bằng khóa trên máy này]"));
  }

  async onEvent(event) {
    if (event.type === "resync") return this.refresh(-1);
    if (event.type !== "case" || event.code !== this.code) return undefined;
    const gone = event.previous === state.me.staff_id && event.holder !== state.me.staff_id
      && state.me.role !== "supervisor";
    if (gone && (event.what === "handover" || event.what === "takeover")) {
      this.composer.disabled = true;
      this.sendButton.disabled = true;
      show(this.status, notice(event.what === "takeover" ? "Giám sát viên đã tiếp quản ca này."
        : "Ca này vừa được chuyển cho người khác. Bạn không gửi tiếp được; nội dung bạn đang "
        + "soạn vẫn còn ở đây.", "info"));
      return undefined;
    }
    return this.refresh();
  }

  /** Fetch what is new (or everything) and open it; a failed check shows nothing. */
  async refresh(since) {
    const last = since ?? Math.max(-1, ...this.doc.items.map((i) => i.item));
    let fresh;
    try {
      fresh = await api("GET", `/cases/${encodeURIComponent(this.code)}?since=${last}`);
    } catch (error) {
      show(this.status, notice(error.status === 403
        ? "Ca này không còn do bạn giữ." : errorText(error), "error"));
      return;
    }
    const known = new Map((last < 0 ? [] : this.doc.items).map((i) => [i.item, i]));
    fresh.items.forEach((i) => known.set(i.item, i));
    const recipients = new Map([...this.doc.recipients, ...fresh.recipients]
      .map((r) => [r.key_id, r]));
    this.doc = { ...fresh, items: [...known.values()], recipients: [...recipients.values()] };
    if (await this.open()) this.draw();
    else this.composer.disabled = true;
  }

  async send() {
    const text = this.composer.value.trim();
    if (!text || this.composer.disabled) return;
    this.sendButton.disabled = true;
    try {
      const { delivered } = await api("POST", `/cases/${encodeURIComponent(this.code)}/messages`, { text });
      this.composer.value = "";
      state.drafts.delete(this.code);
      show(this.status, delivered ? null : notice("Đã lưu nhưng không gửi được: người dùng đã rời cuộc trò chuyện.", "info"));
      await this.refresh();
    } catch (error) {
      show(this.status, notice(`Chưa gửi được. ${errorText(error)}`, "error"));
      if (error.status === 409) await this.refresh();
    } finally {
      this.sendButton.disabled = this.composer.disabled;
    }
  }

  /** Readers of a private note: whoever holds the case, and every supervisor. */
  async noteReaders(holder = this.opened.case.holder) {
    return verifiedKeys({ staffIds: [holder, state.me.staff_id].filter(Boolean), supervisors: true });
  }

  async sealNote(text, readers) {
    const noteId = crypto.getRandomValues(new Uint32Array(1))[0] + 1;
    const context = new SealContext(this.opened.caseId, noteId, "note");
    const sealed = await signItem(await seal(utf8(text), readers, context), context,
      state.current.ed25519, isoUtc());
    sealed.signer = state.current.public.keyId;
    return { note_id: noteId, sealed };
  }

  async addNote(input) {
    const text = input.value.trim();
    if (!text) return;
    try {
      const note = await this.sealNote(text, await this.noteReaders());
      await api("POST", `/cases/${encodeURIComponent(this.code)}/notes`, note);
      input.value = "";
      await this.refresh();
    } catch (error) {
      show(this.status, notice(`Chưa lưu được ghi chú. ${errorText(error)}`, "error"));
    }
  }

  async reshareAfterRotation() {
    if (!this.holding || state.identities.size < 2) return;
    try {
      const shares = await sharesFor(this.doc, this.opened, state.identities,
        [state.current.public]);
      if (shares.length) await api("POST", `/cases/${encodeURIComponent(this.code)}/shares`, { shares });
    } catch {
      // Retried on the next open; the old key still opens everything meanwhile.
    }
  }
}
