// This device and this person: the name users see, where to be notified, a passphrase-
// protected backup of the key, and forgetting the key on this device.

import { api } from "../net/api.js";
import * as keystore from "../store/keystore.js";
import { lock, state } from "../session.js";
import { button, field, h, notice, show } from "./dom.js";
import { errorText } from "./labels.js";

export async function settingsView(app) {
  const status = h("div", { "aria-live": "assertive" });
  const say = (text, kind) => show(status, notice(text, kind));
  const sections = [];
  if (state.me.role !== "admin") {
    const alias = h("input", { maxlength: 30, autocomplete: "off" });
    const chat = h("input", { inputmode: "numeric", autocomplete: "off" });
    sections.push(h("form", { class: "card", onsubmit: async (event) => {
      event.preventDefault();
      try {
        await api("PUT", "/me/alias", { alias: alias.value.trim() });
        say("Đã đổi tên người dùng thấy.", "ok");
      } catch (error) {
        say(error.status === 400 ? "Tên cần 2–30 chữ cái." : errorText(error), "error");
      }
    } }, h("h3", {}, "Tên người dùng thấy"), field("Bí danh", alias, "Không dùng tên thật."),
    h("button", { type: "submit" }, "Lưu")));
    sections.push(h("form", { class: "card", onsubmit: async (event) => {
      event.preventDefault();
      try {
        await api("PUT", "/me/notify", { address: chat.value.trim() ? `telegram:${chat.value.trim()}` : null });
        say("Đã lưu nơi nhận thông báo (chỉ mã ca và mức rủi ro).", "ok");
      } catch (error) {
        say(errorText(error), "error");
      }
    } }, h("h3", {}, "Thông báo ca mới qua Telegram"), field("Mã cuộc trò chuyện Telegram (để trống để tắt)", chat),
    h("button", { type: "submit" }, "Lưu")));
  }
  sections.push(h("section", { class: "card" }, h("h3", {}, "Sao lưu khóa"),
    h("p", {}, "Tệp sao lưu vẫn được bảo vệ bằng mật khẩu khóa của bạn; cất ở nơi an toàn, không gửi qua tin nhắn."),
    button("Tải tệp sao lưu khóa", async () => {
      try {
        const records = await keystore.identities(state.kind);
        const config = await keystore.config();
        const record = records[0];
        const doc = { v: 1, kind: record.kind, created_at: record.created_at, wrapped: record.wrapped,
          pins: { admin_keys: config.admin_keys, server_key: config.server_key } };
        const url = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 1)], { type: "application/json" }));
        const link = h("a", { href: url, download: `antam-${record.key_id}.json` });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
      } catch (error) {
        say(error.message, "error");
      }
    })));
  sections.push(h("section", { class: "card" }, h("h3", {}, "Xoá khóa khỏi máy này"),
    h("p", {}, "Dùng khi trả lại máy hoặc máy dùng chung. Không có tệp sao lưu thì không mở lại được các ca cũ."),
    button("Xoá khóa khỏi máy này", async () => {
      if (!window.confirm("Xoá khóa khỏi máy này?")) return;
      await keystore.wipe();
      lock("locked");
    })));
  show(app.main, h("div", { class: "stack" }, h("h2", {}, "Cài đặt"), status, sections));
}
