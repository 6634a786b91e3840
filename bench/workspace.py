"""Benchmark: the counselors' workspace in Chromium, against the real workspace server and
the real Telegram channel (python-telegram-bot against the Bot API stand-in).

Prints p50/p95 of:
- from a user's confirmation in Telegram to the case appearing in an open workspace
  (target p95 < 1 s): the desk seals and queues it, the live feed tells the page, the page
  fetches the queue and draws the row;
- opening a 200-message case: fetch, verify every signature and approval, decrypt every
  item and draw them (target < 300 ms);
- from the counselor's Send to the message reaching the user's chat (target p95 < 500 ms).

Rasa is not needed: the intake and the relay never reach it. With --screenshots the
queue, the conversation and the wrap-up are saved into docs/screenshots/.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from bot.app import build_core  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.escalation.crypto import b64e  # noqa: E402
from bot.escalation.policy import EscalationPolicy  # noqa: E402
from bot.escalation.service import ServerKeys  # noqa: E402
from bot.escalation.views import Principal  # noqa: E402
from bot.handlers.telegram import TelegramChannel, TelegramSettings  # noqa: E402
from bot.storage import Database, ExitLog  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Workspace, running  # noqa: E402
from tests.browser.flows import admin_makes_a_key, staff_member  # noqa: E402
from tests.fakes.telegram_api import TelegramStandIn  # noqa: E402
from tests.helpers import free_port  # noqa: E402

CASES = int(os.environ.get("BENCH_CASES", "20"))
FIRST_CHAT = 7_100_000_000
INTAKE = ("/counselor_start", "/counselor_share_nothing", "/counselor_contact_chat")


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)]
    return f"p50 {statistics.median(ordered):7.1f} ms · p95 {p95:7.1f} ms · n={len(ordered)}"


class Arrivals:
    def __init__(self) -> None:
        self.at: dict[int, list[float]] = {}
        self.lock = threading.Lock()

    def __call__(self, chat) -> None:
        with self.lock:
            self.at.setdefault(int(chat), []).append(time.time())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--screenshots", action="store_true",
                        help="save the queue, a conversation and the wrap-up into docs/")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="antam-bench-ws-"))
    arrivals = Arrivals()
    with TelegramStandIn(on_sent=arrivals) as standin:
        os.environ.update(ANTAM_VAR_DIR=str(folder), ANTAM_RASA_PORT=str(free_port()),
                          ANTAM_LOG_LEVEL="WARNING")
        for name in ("ANTAM_DATA_KEYS", "ANTAM_ADMIN_KEYS", "DATABASE_URL"):
            os.environ.pop(name, None)
        settings = Settings.from_env()
        database = Database(f"sqlite:///{folder / 'bench.db'}")
        database.migrate()
        port = free_port()
        os.environ["ANTAM_API_PORT"] = str(port)  # the origin every log-in is signed for
        keys = ServerKeys.ephemeral()

        def make_hub(admin_keys):
            os.environ["ANTAM_ADMIN_KEYS"] = ",".join(b64e(k) for k in admin_keys)
            from bot.app import build_escalation

            return build_escalation(settings, database, keys)

        def telegram(hub):
            channel = TelegramChannel(build_core(settings, database, hub), TelegramSettings(
                token=standin.token, base_url=standin.base_url, poll_timeout=1),
                ExitLog(database))
            return channel.serve()

        workspace = Workspace(database, keys, port, EscalationPolicy(api_port=port),
                              make_hub=make_hub, companions=[telegram])
        with running(workspace), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            lan = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            for page in (admin, lan):
                page.set_default_timeout(30_000)
            admin_makes_a_key(admin, workspace)
            staff_member(admin, lan, workspace, "Nguyễn Thị Lan", "Mai")
            appear = [confirmation_to_queue(lan, standin, FIRST_CHAT + n) for n in range(CASES)]
            print("confirmation → case in the open workspace:", percentiles(appear), flush=True)
            sends = [send_to_user(lan, arrivals, workspace, FIRST_CHAT + 500 + n)
                     for n in range(CASES)]
            print("counselor's Send → the user's chat:        ", percentiles(sends), flush=True)
            opens = open_long_case(lan, workspace)
            print("open a 200-message case (fetch, verify, decrypt, draw):",
                  percentiles(opens), flush=True)
            if args.screenshots:
                screenshots(lan, workspace)
            browser.close()


def confirmation_to_queue(page, standin: TelegramStandIn, chat: int) -> float:
    for step in INTAKE:
        standin.user_message(chat, step)
    deadline = time.monotonic() + 30
    while len(standin.sent(chat)) < len(INTAKE):
        assert time.monotonic() < deadline, "the intake did not answer"
        time.sleep(0.01)
    page.evaluate("""() => { window.__rows = document.querySelectorAll('li.case').length;
        window.__seen = null;
        new MutationObserver((_, observer) => {
          if (document.querySelectorAll('li.case').length > window.__rows) {
            window.__seen = Date.now(); observer.disconnect(); }
        }).observe(document.body, {childList: true, subtree: true}); }""")
    sent = time.time()
    standin.user_message(chat, "/counselor_confirm")
    deadline = time.monotonic() + 30
    while (seen := page.evaluate("window.__seen")) is None:  # stamped in the page itself
        assert time.monotonic() < deadline, "the case never appeared"
        time.sleep(0.02)
    return seen - sent * 1000


def send_to_user(page, arrivals: Arrivals, workspace, chat: int) -> float:
    """Each user in their own chat: Telegram's one message a second in a chat (which the
    channel keeps to) would otherwise be what is measured."""
    code = workspace.call(workspace.hub.open_case(
        f"user:bench{chat}", f"telegram:{chat}", "standard",
        {"share": "nothing", "note": None, "transcript": [],
         "contact": {"method": "chat", "phone": None, "window": None}, "risk": "standard",
         "channel": "telegram"}, discreet=False)).code
    page.goto(f"http://127.0.0.1:{workspace.port}/#/queue")
    page.locator(f"li[data-code='{code}']").get_by_role("button", name=f"Nhận ca {code}").click()
    page.get_by_label("Tin nhắn gửi người dùng").fill("Em có an toàn không?")
    before = len(arrivals.at.get(chat, []))
    clicked = time.time()
    page.get_by_role("button", name="Gửi (Ctrl+Enter)").click()
    deadline = time.monotonic() + 30
    while len(arrivals.at.get(chat, [])) <= before:
        assert time.monotonic() < deadline, "the message never reached the user"
        time.sleep(0.002)
    return (arrivals.at[chat][before] - clicked) * 1000


def open_long_case(page, workspace) -> list[float]:
    hub = workspace.hub
    subject = f"user:long{time.time_ns()}"
    code = workspace.call(hub.open_case(subject, "telegram:7188888888", "high", {
        "share": "nothing", "note": None, "transcript": [],
        "contact": {"method": "chat", "phone": None, "window": None}, "risk": "high",
        "channel": "telegram"}, discreet=False)).code
    page.goto(f"http://127.0.0.1:{workspace.port}/#/queue")
    page.locator(f"li[data-code='{code}']").get_by_role("button", name=f"Nhận ca {code}").click()
    page.wait_for_selector(".conversation li.body")
    holder = Principal(hub.service.cases.holder_of(code), "counselor", "", "")
    for n in range(199):  # sealed and signed by the server as the relay seals them
        text = f"Tin nhắn số {n}: " + "em vẫn ở đây, anh ấy chưa về. " * 3
        if n % 2:
            hub.service.cases.user_message(subject, text)
        else:
            hub.service.cases.counselor_message(holder, code, text)
    timings = []
    for _ in range(5):
        page.goto(f"http://127.0.0.1:{workspace.port}/#/queue")
        page.wait_for_selector("li.case")
        timings.append(page.evaluate("""async (code) => {
            const started = performance.now();
            location.hash = '#/case/' + code;
            await new Promise((done) => { const check = () =>
              document.querySelectorAll('.conversation li').length >= 200 ? done()
                : requestAnimationFrame(check); check(); });
            return performance.now() - started; }""", code))
    return timings


def screenshots(page, workspace) -> None:
    target = ROOT / "docs" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    page.goto(f"http://127.0.0.1:{workspace.port}/#/queue")
    page.wait_for_selector("li.case")
    page.screenshot(path=str(target / "queue.png"))
    page.locator("li.case a.button").first.click()
    page.wait_for_selector(".conversation li.message")
    page.screenshot(path=str(target / "conversation.png"))
    page.get_by_text("Kết thúc ca", exact=True).click()
    page.locator(".wrapup").scroll_into_view_if_needed()
    page.locator("aside.side").screenshot(path=str(target / "wrapup.png"))
    print(f"screenshots saved in {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
