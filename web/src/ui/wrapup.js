// Closing a case: the outcome, and, coded and only with the user's consent to be counted,
// the kinds of violence, where it happened, referrals and the safety plan. No free text.

import { api } from "../net/api.js";
import { state } from "../session.js";
import { field, h, notice, panel, show } from "./dom.js";
import { CONTEXTS, KINDS, OUTCOMES, errorText } from "./labels.js";
import { loadDirectory } from "./directory.js";

function checkboxes(legend, entries, name) {
  return h("fieldset", {}, h("legend", {}, legend), entries.map(([value, label]) => h("label",
    { class: "check" }, h("input", { type: "checkbox", name, value }), label)));
}

export function wrapUpPanel(screen) {
  const outcome = h("select", { required: true }, h("option", { value: "" }, "Chọn kết quả…"),
    Object.entries(OUTCOMES).map(([value, label]) => h("option", { value }, label)));
  const referredTo = h("select", {}, h("option", { value: "" }, "—"));
  const referrals = h("fieldset", {}, h("legend", {}, "Đã giới thiệu tới"));
  const followUp = h("input", { type: "date" });
  const status = h("div", { "aria-live": "assertive" });
  loadDirectory().then((contacts) => contacts.forEach((c) => {
    referredTo.append(h("option", { value: c.id }, c.name));
    referrals.append(h("label", { class: "check" },
      h("input", { type: "checkbox", name: "referrals", value: c.id }), c.name));
  })).catch(() => {});
  const form = h("form", { class: "wrapup", onsubmit: async (event) => {
    event.preventDefault();
    const checked = (name) => [...form.querySelectorAll(`input[name=${name}]:checked`)]
      .map((input) => input.value);
    const body = { outcome: outcome.value, referred_to: outcome.value === "referred" ? referredTo.value || null : null,
      kinds: checked("kinds"), contexts: checked("contexts"), referrals: checked("referrals"),
      safety_plan: form.querySelector("input[name=safety_plan]").checked,
      consent_counted: form.querySelector("input[name=consent]").checked,
      follow_up_on: followUp.value || null };
    try {
      await api("POST", `/cases/${encodeURIComponent(screen.code)}/close`, body);
      state.drafts.delete(screen.code);
      screen.app.say(`Đã đóng ca ${screen.code}.`, "ok");
      screen.app.go("#/queue");
    } catch (error) {
      show(status, notice(error.status === 400
        ? `Chưa đóng được ca: ${error.message}` : errorText(error), "error"));
    }
  } },
  field("Kết quả", outcome), field("Chuyển tuyến tới (khi kết quả là chuyển tuyến)", referredTo),
  checkboxes("Hình thức bạo lực", Object.entries(KINDS), "kinds"),
  checkboxes("Bối cảnh", Object.entries(CONTEXTS), "contexts"),
  referrals,
  h("label", { class: "check" }, h("input", { type: "checkbox", name: "safety_plan" }), "Đã cùng lập kế hoạch an toàn"),
  h("label", { class: "check" }, h("input", { type: "checkbox", name: "consent" }),
    "Người dùng đồng ý được tính vào số liệu thống kê (không kèm danh tính)"),
  field("Hẹn theo dõi (không bắt buộc)", followUp),
  h("button", { type: "submit" }, "Đóng ca và lưu kết quả"), status);
  return panel("Kết thúc ca", false, form);
}
