"""/healthz, /readyz and /metrics beside the API (loopback only, like the API).

* /healthz: the process is alive and its event loop answers (200, always).
* /readyz: it can do its job. 200 when every required part answers, else 503; the
  body names each part, "ok" or "down". Rasa and the action server are not required
  by the bot: without them it still answers, in degraded mode, so a load balancer
  must keep sending it users.
* /metrics: Prometheus text (bot/ops/metrics.py), after a fresh readiness check and
  a look at the escalation queue.

Only the reverse proxy's own scraper should reach /metrics: deploy/ keeps it off the
public address.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler

from bot.ops.metrics import Metrics

CHECK_TIMEOUT_S = 1.0
Check = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class Part:
    name: str  # "database", "rasa", "actions": also the metrics' service label
    check: Check
    required: bool


class Readiness:
    def __init__(self, parts: list[Part], metrics: Metrics,
                 refresh: Callable[[], Awaitable[None]] | None = None):
        self.parts = parts
        self.metrics = metrics
        self._refresh = refresh  # updates gauges read from elsewhere (the queue)

    async def check(self) -> dict[str, bool]:
        results = await asyncio.gather(*(self._one(p) for p in self.parts))
        for part, up in zip(self.parts, results, strict=True):
            self.metrics.service_up.labels(part.name).set(1 if up else 0)
        return {p.name: up for p, up in zip(self.parts, results, strict=True)}

    async def _one(self, part: Part) -> bool:
        try:
            return bool(await asyncio.wait_for(part.check(), CHECK_TIMEOUT_S))
        except Exception:  # a check that fails in any way means "down"
            return False

    def ready(self, results: dict[str, bool]) -> bool:
        return all(results[p.name] for p in self.parts if p.required)

    async def scrape(self) -> bytes:
        await self.check()
        if self._refresh is not None:
            await self._refresh()
        return self.metrics.exposition()


class _Ops(RequestHandler):
    def initialize(self, readiness: Readiness) -> None:
        self.readiness = readiness

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")


class Healthz(_Ops):
    route = "/healthz"

    def get(self) -> None:
        self.write({"status": "ok"})


class Readyz(_Ops):
    route = "/readyz"

    async def get(self) -> None:
        results = await self.readiness.check()
        ready = self.readiness.ready(results)
        self.set_status(200 if ready else 503)
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps({"ready": ready,
                               "parts": {k: "ok" if v else "down" for k, v in results.items()}}))


class MetricsPage(_Ops):
    route = "/metrics"

    async def get(self) -> None:
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.write(await self.readiness.scrape())


def ops_handlers(readiness: Readiness) -> list[tuple]:
    return [(f"{h.route}$", h, {"readiness": readiness}) for h in (Healthz, Readyz, MetricsPage)]


async def serve_ops(readiness: Readiness, port: int, address: str = "127.0.0.1") -> None:
    """The health pages alone, for a process that serves no API (`antam up --role bot`)."""
    server = HTTPServer(Application(ops_handlers(readiness)))
    server.listen(port, address=address)
    try:
        await asyncio.Event().wait()
    finally:
        server.stop()
