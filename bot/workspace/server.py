"""Serving the workspace: its page and scripts (built from web/ by `make setup`), the
counselors' API, and the live feed, on one origin, with the headers a staff application
needs: a strict Content-Security-Policy (no inline script, nothing from anywhere else),
no framing, no referrer, no cache, and no cookie at all (the session token lives in the
page's memory and goes away with the unlocked key)."""

from __future__ import annotations

import logging
from pathlib import Path

from tornado.web import Application, HTTPError, RequestHandler, StaticFileHandler

from bot.escalation.api import PREFIX, make_app, serve
from bot.escalation.hub import EscalationHub
from bot.workspace.live import LiveFeed

log = logging.getLogger(__name__)

WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
ASSETS = ("app.js", "app.css", "favicon.svg")


def security_headers(handler: RequestHandler) -> None:
    host = handler.request.host
    handler.set_header("Content-Security-Policy", "; ".join((
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",  # Argon2id runs as WebAssembly
        # blob: images are the indicators' charts, SVG made by the server and shown as
        # images (which run no script).
        "style-src 'self'", "img-src 'self' blob:", "font-src 'self'",
        f"connect-src 'self' ws://{host} wss://{host}",
        "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'")))
    handler.set_header("X-Content-Type-Options", "nosniff")
    handler.set_header("X-Frame-Options", "DENY")
    handler.set_header("Referrer-Policy", "no-referrer")
    handler.set_header("Cross-Origin-Opener-Policy", "same-origin")
    handler.set_header("Cross-Origin-Resource-Policy", "same-origin")
    handler.set_header("Permissions-Policy",
                       "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
    handler.set_header("Cache-Control", "no-store")
    if handler.request.protocol == "https":  # behind the TLS proxy (xheaders)
        handler.set_header("Strict-Transport-Security", "max-age=31536000")
    handler.clear_header("Server")


class Page(RequestHandler):
    """The single page; every view is drawn by the script."""

    def initialize(self, dist: Path) -> None:
        self._dist = dist
        self.route = "/"

    def set_default_headers(self) -> None:
        security_headers(self)

    def get(self) -> None:
        index = self._dist / "index.html"
        if not index.exists():
            raise HTTPError(503, reason="the workspace is not built: run `make setup`")
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(index.read_bytes())


class Asset(StaticFileHandler):
    def initialize(self, path: str, default_filename: str | None = None) -> None:
        super().initialize(path, default_filename)
        self.route = "/assets"

    def set_default_headers(self) -> None:
        security_headers(self)

    def set_extra_headers(self, path: str) -> None:
        security_headers(self)


def make_workspace_app(hub: EscalationHub, dist: Path = WEB_DIST,
                       extra: list[tuple] = ()) -> Application:
    names = "|".join(name.replace(".", r"\.") for name in ASSETS)
    return make_app(hub, [
        (f"{PREFIX}/live$", LiveFeed, {"hub": hub}),
        (r"/$", Page, {"dist": dist}),
        (rf"/({names})$", Asset, {"path": str(dist)}),
        *extra,
    ])


async def serve_workspace(hub: EscalationHub, port: int, address: str = "127.0.0.1",
                          extra: list[tuple] = ()) -> None:
    """``extra``: routes served beside it, such as /healthz, /readyz and /metrics."""
    await serve(make_workspace_app(hub, extra=extra), port, address)
