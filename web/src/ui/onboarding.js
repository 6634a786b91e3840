// Before work: enrol with an invitation (keys made here), make an admin key, import a key
// file made by `antam counselor init` or exported from here, and unlock with the passphrase.

import { api } from "../net/api.js";
import { b64d, b64e, WrongPassphrase } from "../crypto/encoding.js";
import { generate, publicIdentity, publicJson, wrapIdentity } from "../crypto/identity.js";
import * as keystore from "../store/keystore.js";
import { unlock } from "../session.js";
import { button, field, h, notice, show } from "./dom.js";
import { errorText } from "./labels.js";

const MIN_PASSPHRASE = 12;

export async function onboarding(app, onReady) {
  let stored;
  try {
    stored = await keystore.anyIdentity();
  } catch (error) {
    show(app.main, notice(error.message, "error"), importSection(app, () => onboarding(app, onReady)));
    return;
  }
  if (stored) unlockView(app, stored, onReady);
  else welcome(app, () => onboarding(app, onReady));
}

// --- unlocking -------------------------------------------------------------------------

function unlockView(app, stored, onReady) {
  const passphrase = h("input", { type: "password", autocomplete: "current-password",
    required: true });
  const status = h("div", { "aria-live": "assertive" });
  const submit = h("button", { type: "submit" }, "Mở khóa");
  const form = h("form", { class: "card narrow", onsubmit: async (event) => {
    event.preventDefault();
    submit.disabled = true;
    show(status, notice("Đang mở khóa…"));
    try {
      await unlock(stored.kind, stored.records, passphrase.value);
      passphrase.value = "";
      await onReady();
    } catch (error) {
      submit.disabled = false;
      passphrase.select();
      show(status, notice(error instanceof WrongPassphrase ? "Sai mật khẩu khóa."
        : unlockError(error), "error"));
    }
  } }, h("h2", {}, "Mở khóa không gian làm việc"),
  h("p", {}, "Khóa của bạn được lưu trên máy này, đã mã hóa bằng mật khẩu của bạn."),
  field("Mật khẩu khóa", passphrase), submit, status);
  show(app.main, form);
  passphrase.focus();
}

function unlockError(error) {
  if (error.status === 401) {
    return "Khóa trên máy này chưa được duyệt, đã bị thu hồi hoặc người dùng khóa đã bị gỡ. "
      + "Hãy liên hệ quản trị viên.";
  }
  return errorText(error);
}

// --- first visit -------------------------------------------------------------------------

function welcome(app, done) {
  show(app.main, h("div", { class: "stack" },
    h("h2", {}, "Bắt đầu trên máy này"),
    h("p", {}, "Khóa của bạn được tạo và giữ ngay trên máy này; máy chủ chỉ nhận khóa công khai. "
      + "Nội dung ca chỉ được giải mã trên màn hình của bạn."),
    enrolSection(app, done), importSection(app, done), adminSection(app, done)));
}

function passphraseFields() {
  const first = h("input", { type: "password", autocomplete: "new-password", minlength: MIN_PASSPHRASE,
    required: true });
  const again = h("input", { type: "password", autocomplete: "new-password", required: true });
  return { first, again, nodes: [
    field("Đặt mật khẩu cho khóa", first, `Ít nhất ${MIN_PASSPHRASE} ký tự. Không ai khôi phục được mật khẩu này.`),
    field("Nhập lại mật khẩu", again)] };
}

function checkPassphrase({ first, again }) {
  if (first.value.length < MIN_PASSPHRASE) throw new Error(`Mật khẩu cần ít nhất ${MIN_PASSPHRASE} ký tự.`);
  if (first.value !== again.value) throw new Error("Hai lần nhập mật khẩu không khớp.");
  return first.value;
}

function parseKeys(text, what) {
  const keys = text.split(",").map((s) => s.trim()).filter(Boolean);
  try {
    if (!keys.length || keys.some((key) => b64d(key).length !== 32)) throw new Error();
  } catch {
    throw new Error(`${what} không hợp lệ (cần khóa Ed25519 dạng base64url).`);
  }
  return keys;
}

async function checkServerKey(serverKey) {
  const server = await api("GET", "/server");
  if (server.signing_key !== serverKey) {
    throw new Error("CẢNH BÁO: máy chủ dùng khóa ký khác với khóa bạn được trao. Không tiếp tục; "
      + "hãy báo ngay cho quản trị viên.");
  }
}

function enrolSection(app, done) {
  const code = h("input", { autocomplete: "off", required: true, spellcheck: "false" });
  const adminKeys = h("input", { autocomplete: "off", required: true, spellcheck: "false" });
  const serverKey = h("input", { autocomplete: "off", required: true, spellcheck: "false" });
  const alias = h("input", { autocomplete: "off", required: true, maxlength: 30 });
  const pass = passphraseFields();
  const status = h("div", { "aria-live": "assertive" });
  const form = h("form", { class: "card", "aria-labelledby": "enrol-title", onsubmit: async (event) => {
    event.preventDefault();
    show(status, notice("Đang tạo khóa và ghi danh…"));
    try {
      const passphrase = checkPassphrase(pass);
      const pins = { admin_keys: parseKeys(adminKeys.value, "Khóa quản trị"),
        server_key: parseKeys(serverKey.value, "Khóa ký của máy chủ")[0] };
      await checkServerKey(pins.server_key);
      const made = await generate();
      const wrapped = await wrapIdentity(made.secret, made.public, passphrase);
      made.secret.fill(0);
      const result = await api("POST", "/enrol", { code: code.value.trim(),
        identity: publicJson(made.public), alias: alias.value.trim() });
      if (result.key_id !== made.public.keyId) throw new Error("Máy chủ xác nhận một khóa khác.");
      await keystore.addIdentity("counselor", wrapped);
      await keystore.saveConfig(pins);
      show(app.main, fingerprintCard(made.public.fingerprint, done));
    } catch (error) {
      show(status, notice(error.code ? enrolError(error) : error.message, "error"));
    }
  } }, h("h3", { id: "enrol-title" }, "Tôi được mời làm tư vấn viên hoặc giám sát viên"),
  field("Mã ghi danh", code, "Quản trị viên trao trực tiếp cho bạn; dùng một lần."),
  field("Khóa quản trị", adminKeys, "Trong lệnh mời: phần sau --admin-key="),
  field("Khóa ký của máy chủ", serverKey, "Trong lệnh mời: phần sau --server-key="),
  field("Tên người dùng thấy", alias, "Một bí danh (chỉ chữ cái), không dùng tên thật."),
  pass.nodes, h("button", { type: "submit" }, "Tạo khóa và ghi danh"), status);
  return form;
}

function enrolError(error) {
  if (error.status === 401) return "Mã ghi danh không đúng, đã dùng hoặc đã hết hạn.";
  if (error.status === 400) return `Thông tin chưa hợp lệ: ${error.message}`;
  return errorText(error);
}

function fingerprintCard(fingerprint, done) {
  return h("div", { class: "card narrow" }, h("h2", {}, "Đã tạo khóa và ghi danh"),
    h("p", {}, "Hãy đọc dấu vân tay này cho quản trị viên qua điện thoại hoặc gặp trực tiếp "
      + "(không gửi qua tin nhắn). Khóa chỉ dùng được sau khi quản trị viên duyệt."),
    h("p", { class: "fingerprint", "data-testid": "fingerprint" }, fingerprint),
    button("Đã được duyệt – mở khóa", done));
}

function importSection(app, done) {
  const file = h("input", { type: "file", accept: ".json,application/json" });
  const adminKeys = h("input", { autocomplete: "off", spellcheck: "false" });
  const serverKey = h("input", { autocomplete: "off", spellcheck: "false" });
  const status = h("div", { "aria-live": "assertive" });
  return h("form", { class: "card", "aria-labelledby": "import-title", onsubmit: async (event) => {
    event.preventDefault();
    try {
      const doc = JSON.parse(await file.files[0].text());
      const wrapped = doc.wrapped || doc;
      const kind = doc.kind === "admin" ? "admin" : "counselor";
      if (!wrapped.key_id || !wrapped.public || !wrapped.kdf) throw new Error("bad file");
      const pins = { ...(doc.pins || {}) };
      if (adminKeys.value.trim()) pins.admin_keys = parseKeys(adminKeys.value, "Khóa quản trị");
      if (serverKey.value.trim()) pins.server_key = parseKeys(serverKey.value, "Khóa ký của máy chủ")[0];
      if (!pins.server_key) throw new Error("Cần khóa ký của máy chủ để kiểm tra các ca.");
      await checkServerKey(pins.server_key);
      await keystore.addIdentity(kind, wrapped, doc.created_at);
      await keystore.saveConfig(pins);
      done();
    } catch (error) {
      const text = error instanceof SyntaxError || error.message === "bad file"
        ? "Tệp này không phải tệp khóa của An Tâm." : error.message;
      show(status, notice(text, "error"));
    }
  } }, h("h3", { id: "import-title" }, "Tôi đã có tệp khóa"),
  h("p", {}, "Tệp do `antam counselor init` tạo (thư mục identities) hoặc tệp sao lưu xuất từ đây. "
    + "Khóa vẫn được bảo vệ bằng mật khẩu cũ của nó."),
  field("Tệp khóa", file), field("Khóa quản trị (nếu tệp không kèm)", adminKeys),
  field("Khóa ký của máy chủ (nếu tệp không kèm)", serverKey),
  h("button", { type: "submit" }, "Nhập khóa"), status);
}

function adminSection(app, done) {
  const pass = passphraseFields();
  const status = h("div", { "aria-live": "assertive" });
  return h("form", { class: "card", "aria-labelledby": "admin-title", onsubmit: async (event) => {
    event.preventDefault();
    try {
      const passphrase = checkPassphrase(pass);
      const server = await api("GET", "/server");
      const made = await generate();
      const wrapped = await wrapIdentity(made.secret, made.public, passphrase);
      made.secret.fill(0);
      const adminKey = b64e(made.public.ed25519);
      await keystore.addIdentity("admin", wrapped);
      await keystore.saveConfig({ admin_keys: [adminKey], server_key: server.signing_key });
      const serverPrint = (await publicIdentity(new Uint8Array(0), b64d(server.signing_key))).fingerprint;
      show(app.main, h("div", { class: "card narrow" }, h("h2", {}, "Đã tạo khóa quản trị"),
        h("p", {}, "Thêm khóa công khai này vào ANTAM_ADMIN_KEYS trên máy chủ rồi khởi động lại An Tâm:"),
        h("p", { class: "key", "data-testid": "admin-public-key" }, adminKey),
        h("p", {}, `Đã ghim khóa ký của máy chủ, dấu vân tay ${serverPrint}. Hãy so với dòng `
          + "“server signing key” mà `antam up` in ra."),
        button("Máy chủ đã nhận khóa – mở khóa", done)));
    } catch (error) {
      show(status, notice(error.message, "error"));
    }
  } }, h("h3", { id: "admin-title" }, "Tôi là quản trị viên"),
  h("p", {}, "Tạo khóa quản trị trên máy này. Khóa dùng để duyệt, thu hồi khóa của nhân sự; "
    + "quản trị viên không đọc được nội dung ca."),
  pass.nodes, h("button", { type: "submit" }, "Tạo khóa quản trị"), status);
}
