// The preview panel: the editor chats with the proposed content, through the real
// conversation core and Rasa, and sees which entry answered, as Telegram shows it (buttons)
// and as Zalo shows it (numbered options).

import { api } from "../../net/api.js";
import { button, field, h, notice, show, uid } from "../dom.js";
import { errorText } from "../labels.js";

export function previewPanel(proposal, about = "") {
  // ``about`` tells two panels on one page apart ("cả tệp" for an uploaded file).
  const suffix = about ? ` (${about})` : "";
  const titleId = uid("preview-title");
  let token = null;
  const log = h("ol", { class: "preview-log", "aria-live": "polite", "aria-label": "Cuộc trò chuyện xem trước" });
  const status = h("div");
  const text = h("input", { autocomplete: "off", maxlength: 1000 });
  const form = h("form", { class: "compose", onsubmit: async (event) => {
    event.preventDefault();
    if (text.value.trim()) await say(text.value.trim());
  } }, field(`Tin nhắn thử${suffix}`, text), h("button", { type: "submit" }, `Gửi thử${suffix}`));

  async function ensure() {
    if (token) return token;
    token = (await api("POST", "/content/preview", proposal())).token;
    return token;
  }

  async function say(message) {
    show(status);
    try {
      if (token) await api("PUT", `/content/preview/${token}`, proposal()).catch(() => { token = null; });
      await ensure(); // always with the form as it is now
      log.append(h("li", { class: "from-user" }, h("span", { class: "who" }, "Bạn: "), message));
      text.value = "";
      let turn;
      try {
        turn = await api("POST", `/content/preview/${token}/messages`, { text: message });
      } catch (error) {
        if (error.code !== "not_found") throw error;
        token = null; // the session expired: start again with the same proposal
        await ensure();
        turn = await api("POST", `/content/preview/${token}/messages`, { text: message });
      }
      log.append(answer(turn));
    } catch (error) {
      show(status, notice(errorText(error), "error"));
    }
  }

  function answer(turn) {
    const entries = turn.entries.length ? turn.entries.join(", ") : "(không có mục nội dung)";
    const telegram = h("div", { class: "render telegram", "aria-label": "Trên Telegram" },
      h("h4", {}, "Telegram"),
      turn.telegram.map((reply) => h("div", { class: "bubble" }, h("p", { class: "text" }, reply.text),
        reply.buttons.length ? h("div", { class: "buttons" }, reply.buttons.map((b) =>
          button(b.title, () => say(b.payload), { class: "tg-button" }))) : null)));
    const zalo = h("div", { class: "render zalo", "aria-label": "Trên Zalo" }, h("h4", {}, "Zalo"),
      turn.zalo.map((t) => h("pre", { class: "bubble" }, t)));
    return h("li", { class: "from-bot" },
      h("p", { class: "answered-by", "data-testid": "preview-entries" }, "Mục trả lời: ", entries,
        turn.crisis ? " · có trả lời khẩn cấp" : "", turn.degraded ? " · chế độ dự phòng (Rasa chưa trả lời)" : ""),
      h("div", { class: "renders" }, telegram, zalo));
  }

  // The form changed: the same conversation continues with the new text.
  let timer = null;
  function changed() {
    if (!token) return;
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        await api("PUT", `/content/preview/${token}`, proposal());
      } catch {
        token = null;
      }
    }, 300);
  }

  async function close() {
    if (token) await api("DELETE", `/content/preview/${token}`).catch(() => {});
    token = null;
    log.replaceChildren();
  }

  const node = h("aside", { class: "card preview", "aria-labelledby": titleId },
    h("h3", { id: titleId }, `Xem trước${suffix}`),
    h("p", { class: "hint" }, "Trò chuyện thử với nội dung đang sửa, qua bot và Rasa thật. Người dùng chưa thấy thay đổi này."),
    log, status, form, button(`Bắt đầu lại${suffix}`, close));
  return { node, changed, close, sync: async () => { if (token) await api("PUT", `/content/preview/${token}`, proposal()); } };
}
