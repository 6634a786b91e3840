"""The workspace in a real browser: Debian's Chromium driven by Playwright, against the
real workspace server (API, live feed, page) on a loopback port, with a real database.

The server runs on an event loop in a thread, as `antam up` runs it, and can be restarted
with other admin keys (an admin's browser makes the key that ANTAM_ADMIN_KEYS then lists).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from bot.app import build_escalation, build_telegram
from bot.config import Settings
from bot.escalation.crypto import b64e
from bot.escalation.hub import EscalationHub
from bot.escalation.outbox import Outbox
from bot.escalation.policy import EscalationPolicy
from bot.escalation.service import ServerKeys, build_service
from bot.replies import Reply
from bot.storage import Database
from bot.workspace.live import LiveFeed
from bot.workspace.server import WEB_DIST, make_workspace_app
from common.content import ContentStore, render
from tests.fakes.telegram_api import TelegramStandIn
from tests.helpers import ROOT, free_port

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
# Chromium as root, headless, and quiet on a machine without a network beyond loopback.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
PASSPHRASE = "mật khẩu rất dài của thử nghiệm"


HubFactory = Callable[[tuple[bytes, ...]], EscalationHub]


@dataclass
class Workspace:
    """The workspace server, restartable with other admin keys over the same database.
    ``make_hub`` builds the escalation hub for given admin keys; ``companions`` are what
    else runs beside it on the same loop (a Telegram channel), each made from the hub."""

    database: Database
    keys: ServerKeys
    port: int
    policy: EscalationPolicy
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    hub: EscalationHub | None = None
    sent: list[tuple[str, Reply]] = field(default_factory=list)
    _server: object = None
    make_hub: HubFactory | None = None
    companions: list[Callable[[EscalationHub], object]] = field(default_factory=list)
    routes: Callable[[EscalationHub], list[tuple]] | None = None  # served beside the API
    _tasks: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, coroutine, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def _recording_hub(self, admin_keys: tuple[bytes, ...]) -> EscalationHub:
        """A hub whose messages to users and staff are recorded instead of sent."""
        content = ContentStore(ROOT / "content")
        service = build_service(self.database, self.keys, admin_keys, self.policy)
        outbox = Outbox()

        async def record(chat_id: str, reply: Reply, silent: bool = False) -> None:
            self.sent.append((chat_id, reply))

        outbox.register("telegram", record)
        return EscalationHub(service, outbox, lambda key: render(content.get(), key), content)

    def start(self, admin_keys: tuple[bytes, ...] = ()) -> EscalationHub:
        self.hub = (self.make_hub or self._recording_hub)(admin_keys)

        async def listen():
            from tornado.httpserver import HTTPServer

            extra = self.routes(self.hub) if self.routes else []
            server = HTTPServer(make_workspace_app(self.hub, extra=extra), xheaders=True)
            server.listen(self.port, address="127.0.0.1")
            self._tasks = [asyncio.ensure_future(make(self.hub)) for make in self.companions]
            return server

        self._server = self.call(listen())
        return self.hub

    def stop(self) -> None:
        if self._server is not None:
            async def close():
                self._server.stop()
                LiveFeed.close_all(self.hub)
                await self._server.close_all_connections()
                for task in self._tasks:
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)

            self.call(close())
            self._server = None

    def restart(self, admin_keys: tuple[bytes, ...]) -> EscalationHub:
        self.stop()
        return self.start(admin_keys)


@contextlib.contextmanager
def running(ws: Workspace) -> Iterator[Workspace]:
    assert (WEB_DIST / "app.js").exists(), "the workspace is not built: run `make setup`"
    thread = threading.Thread(target=ws.loop.run_forever, daemon=True)
    thread.start()
    ws.start()
    try:
        yield ws
    finally:
        ws.stop()
        ws.loop.call_soon_threadsafe(ws.loop.stop)
        thread.join(10)


Routes = Callable[[Settings, Database], Callable[[EscalationHub], list[tuple]]]


@contextlib.contextmanager
def telegram_workspace(stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       shared: tuple[str, ...] = (), routes: Routes | None = None,
                       database_name: str = "workspace.db"
                       ) -> Iterator[tuple[Workspace, TelegramStandIn]]:
    """The workspace and the real Telegram bot (PTB against the Bot API stand-in) beside it,
    over the stack's Rasa and action server, as `antam up` wires them. ``shared`` names more of
    the stack's settings to use; ``routes`` adds routes made from the settings and database."""
    with TelegramStandIn() as standin:
        for key in ("ANTAM_VAR_DIR", "ANTAM_RASA_PORT", "ANTAM_ACTIONS_PORT", *shared):
            monkeypatch.setenv(key, stack.env[key])
        port = free_port()
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / database_name}")
        monkeypatch.setenv("ANTAM_API_PORT", str(port))
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", standin.token)
        monkeypatch.setenv("TELEGRAM_BASE_URL", standin.base_url)
        monkeypatch.setenv("TELEGRAM_POLL_TIMEOUT", "1")
        settings = Settings.from_env()
        database = Database(settings.database_url)
        database.migrate()
        keys = ServerKeys.ephemeral()

        def make_hub(admin_keys):
            monkeypatch.setenv("ANTAM_ADMIN_KEYS", ",".join(b64e(k) for k in admin_keys))
            return build_escalation(settings, database, keys)

        ws = Workspace(database, keys, port, EscalationPolicy(api_port=port), make_hub=make_hub,
                       companions=[lambda hub: build_telegram(settings, database, hub).serve()],
                       routes=routes(settings, database) if routes else None)
        with running(ws):
            yield ws, standin


@pytest.fixture
def workspace(request, tmp_path: Path) -> Iterator[Workspace]:
    """The workspace server; ``@pytest.mark.policy(...)`` changes its settings."""
    database = Database(f"sqlite:///{tmp_path / 'workspace.db'}")
    database.migrate()
    port = free_port()
    marker = request.node.get_closest_marker("policy")
    settings = {"session_minutes": 60, **(marker.kwargs if marker else {})}
    with running(Workspace(database, ServerKeys.ephemeral(), port,
                           EscalationPolicy(api_port=port, **settings))) as ws:
        yield ws


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Not for the session: Playwright's synchronous API keeps
    an event loop running in this thread, and later tests call asyncio.run()."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def person(browser: Browser) -> Iterator[Callable[..., Page]]:
    """A new person at their own browser (own IndexedDB): ``person()`` gives their page."""
    contexts: list[BrowserContext] = []

    def new(viewport: dict | None = None, **options) -> Page:
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900},
                                      locale="vi-VN", **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    yield new
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()
