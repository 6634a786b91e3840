// An Tâm's workspace for counselors, supervisors and admins. Keys are made and kept here;
// cases arrive sealed and are opened on this screen only.

import { api, whenSessionEnds } from "./net/api.js";
import { Live } from "./net/live.js";
import { lock, setIdleLimit, state, touch, unlocked, whenLocked } from "./session.js";
import { button, h, notice, show } from "./ui/dom.js";
import { CONTENT_ROLES, ROLES } from "./ui/labels.js";
import { onboarding } from "./ui/onboarding.js";
import { queueView } from "./ui/queue.js";
import { caseView } from "./ui/casepage.js";
import { adminView } from "./ui/admin.js";
import { settingsView } from "./ui/settings.js";
import { contentView } from "./ui/content/editor.js";
import { changesView } from "./ui/content/changes.js";
import { historyView } from "./ui/content/history.js";
import { freshnessView } from "./ui/content/freshness.js";
import { indicatorsView } from "./ui/manager/indicators.js";

// Where each role starts, what it links to, and what it sees for an unknown route.
const HOME = { admin: "#/admin", editor: "#/content", reviewer: "#/changes", manager: "#/indicators" };
const LINKS = {
  admin: [["#/admin", "Quản trị"]],
  editor: [["#/content", "Sửa nội dung"], ["#/changes", "Chờ duyệt"], ["#/history", "Lịch sử"], ["#/freshness", "Cần rà soát"]],
};
LINKS.reviewer = [LINKS.editor[1], LINKS.editor[0], LINKS.editor[2], LINKS.editor[3]];
LINKS.manager = [["#/indicators", "Chỉ số chương trình"]];
const homeOf = (role) => HOME[role] || "#/queue";

const root = document.getElementById("app");
const app = {
  root,
  live: null,
  listeners: new Set(), // views that want live events while shown
  banner: h("div", { class: "banner", role: "status", "aria-live": "polite" }),
  main: h("main", { id: "main", tabindex: "-1" }),
  go(route) {
    if (location.hash === route) render();
    else location.hash = route;
  },
  onEvent(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  },
  say(text, kind = "info") {
    show(this.banner, text ? notice(text, kind) : null);
  },
};

whenLocked((reason) => {
  app.live?.stop();
  app.live = null;
  app.listeners.clear();
  const why = {
    idle: "Không gian làm việc đã tự khóa vì không hoạt động. Nhập mật khẩu để mở lại.",
    ended: "Phiên làm việc đã kết thúc (hết hạn, hoặc khóa của bạn không còn được duyệt). "
      + "Nhập mật khẩu để đăng nhập lại.",
    locked: "Đã khóa. Khóa bí mật đã được xoá khỏi bộ nhớ của trang.",
  }[reason];
  location.hash = "";
  start(why);
});
whenSessionEnds(() => lock("ended"));

for (const event of ["keydown", "pointerdown", "focusin"]) {
  document.addEventListener(event, () => touch(), { passive: true });
}
window.addEventListener("hashchange", () => render());

async function start(message) {
  show(root, h("header", { class: "top" }, h("h1", {}, "An Tâm – Không gian tư vấn")),
    app.banner, app.main);
  app.say(message || "");
  await onboarding(app, async () => {
    const server = await api("GET", "/server");
    setIdleLimit((server.idle_lock_minutes || 10) * 60 * 1000);
    connectLive();
    app.go(homeOf(state.me.role));
    render();
  });
}

function connectLive() {
  app.live = new Live({
    token: state.token,
    onEvent: (event) => app.listeners.forEach((listener) => listener(event)),
    onState: (what) => {
      if (what === "lost") app.say("Mất kết nối tới máy chủ, đang kết nối lại… Nội dung bạn đang soạn vẫn được giữ.", "error");
      if (what === "reconnected") app.say("Đã kết nối lại.", "ok");
      // Whatever changed before the feed was listening is fetched now.
      app.listeners.forEach((listener) => listener({ type: "resync" }));
    },
    onEnded: () => lock("ended"),
  });
  app.live.start();
}

function header() {
  const me = state.me;
  const links = [...(LINKS[me.role] || [["#/queue", "Hàng chờ"]])];
  links.push(["#/settings", "Cài đặt"]);
  return h("header", { class: "top" },
    h("h1", {}, "An Tâm"),
    h("nav", { "aria-label": "Chính" }, h("ul", {}, links.map(([href, label]) => h("li", {},
      h("a", { href, "aria-current": location.hash.startsWith(href) ? "page" : null }, label))))),
    h("p", { class: "who" }, `${me.display_name} · ${ROLES[me.role] || me.role}`),
    button("Khóa", () => lock("locked"), { class: "lock", title: "Xoá khóa khỏi bộ nhớ ngay" }));
}

function render() {
  if (!unlocked()) return;
  app.listeners.clear();
  show(root, header(), app.banner, app.main);
  const [, route, arg] = location.hash.split("/");
  const editing = CONTENT_ROLES.includes(state.me.role);
  const views = editing
    ? { content: contentView, changes: changesView, history: historyView, freshness: freshnessView,
      settings: settingsView }
    : state.me.role === "manager" ? { indicators: indicatorsView, settings: settingsView }
      : { queue: queueView, case: caseView, admin: adminView, settings: settingsView };
  const fallback = { admin: adminView, editor: contentView, reviewer: changesView,
    manager: indicatorsView }[state.me.role] || queueView;
  const view = views[route] || fallback;
  show(app.main, h("p", { class: "loading" }, "Đang tải…"));
  view(app, decodeURIComponent(arg || "")).catch((error) => {
    show(app.main, notice(error.message || "Đã có lỗi.", "error"));
  });
}

start();
