"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from telegram.ext import Application, ApplicationBuilder
from tornado.httpserver import HTTPServer
from tornado.web import Application as TornadoApp

from bot.stack import free_port

ROOT = Path(__file__).resolve().parent.parent
__all__ = ["ROOT", "free_port", "listening_addresses", "LOOPBACK_V4", "serving",
           "telegram_application", "until_listening"]


def listening_addresses(port: int) -> set[str]:
    """Local IPv4/IPv6 addresses with a socket LISTENing on ``port`` (from /proc/net)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.add(address)
    return found


LOOPBACK_V4 = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it


async def until_listening(port: int, timeout: float = 30.0) -> None:
    """Wait until a server accepts connections on 127.0.0.1:``port`` (no fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on port {port}") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


def telegram_application(standin) -> Application:
    """A PTB application talking to the Bot API stand-in."""
    return ApplicationBuilder().token(standin.token).base_url(standin.base_url).build()


@contextmanager
def serving(app: TornadoApp) -> Iterator[str]:
    """A Tornado app on a free port of 127.0.0.1 until the block ends; its base URL."""
    port = free_port()
    server = HTTPServer(app)
    server.listen(port, address="127.0.0.1")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
