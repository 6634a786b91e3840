"""Benchmark: from the user's confirmation to the counselors' notification.

With 1, 10 and 50 active counselors (approved keys, notifications on
Telegram), a user confirms a request for a counselor; the case is sealed to
every counselor's key, stored, and each counselor is notified through the real
Telegram channel (python-telegram-bot) against the Bot API stand-in on
127.0.0.1. Prints, per level, p50/p95 of the time until the first and until
the last counselor's notification arrives, and the encryption cost per case
(sealing a 2 KB case to every counselor, and checking their approvals).

Telegram's own limits apply as in production: about 30 messages/s overall,
so notifying 50 counselors cannot take less than about 1.7 s. Cases are
spaced so that one case's notifications do not queue behind the last's.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.escalation import crypto  # noqa: E402
from bot.escalation.crypto import PrivateIdentity, PublicIdentity, SealContext  # noqa: E402
from tests.escalation_support import enrol  # noqa: E402
from tests.fakes.telegram_api import TelegramStandIn  # noqa: E402

LEVELS = tuple(int(n) for n in os.environ.get("BENCH_COUNSELORS", "1,10,50").split(","))
CASES = int(os.environ.get("BENCH_CASES", "15"))
FIRST_CHAT = 7_000_000_000


class Arrivals:
    """Stamps each notification as the stand-in receives it (server thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stamps: list[float] = []

    def on_sent(self, chat: int | str) -> None:
        if int(chat) >= FIRST_CHAT:
            with self.lock:
                self.stamps.append(time.perf_counter())

    def take(self) -> list[float]:
        with self.lock:
            stamps, self.stamps = self.stamps, []
        return stamps


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[max(int(len(ordered) * 0.95) - 1, 0)]


def _enrol(hub, admin: PrivateIdentity, index: int) -> PublicIdentity:
    identity, _ = enrol(hub.service, admin, f"Tư vấn viên {index}",
                        notify=f"telegram:{FIRST_CHAT + index}")
    return identity.public()


def _encryption_cost(hub, recipients: list[PublicIdentity]) -> tuple[float, float]:
    """(ms to seal and sign a 2 KB case to every recipient, ms to re-check their approvals
    and revocations)."""
    body = ("Tôi bị chồng đánh và đe dọa. " * 70).encode()[:2048]
    signer = crypto.Ed25519PrivateKey.generate()
    started = time.perf_counter()
    for n in range(20):
        context = SealContext(f"bench{n}", 0, "case")
        crypto.sign_item(crypto.seal(body, recipients, context), context, signer,
                         "2026-11-29T08:00:00Z")
    seal_ms = (time.perf_counter() - started) * 1000 / 20
    started = time.perf_counter()
    for _ in range(20):
        hub.service.staff.recipients()
    return seal_ms, (time.perf_counter() - started) * 1000 / 20


async def _one_case(desk, arrivals: Arrivals, user: str, counselors: int) -> tuple[float, float]:
    for step in ("/counselor_start", "/counselor_share_nothing", "/counselor_contact_chat"):
        await desk.handle(user, f"telegram:{user}", step)
    arrivals.take()
    started = time.perf_counter()
    await desk.handle(user, f"telegram:{user}", "/counselor_confirm")
    deadline = started + 60
    stamps: list[float] = []
    while len(stamps) < counselors and time.perf_counter() < deadline:
        await asyncio.sleep(0.002)
        stamps += arrivals.take()
    if len(stamps) < counselors:
        raise TimeoutError(f"only {len(stamps)} of {counselors} counselors were notified")
    return (min(stamps) - started) * 1000, (max(stamps) - started) * 1000


async def _level(counselors: int, standin: TelegramStandIn, arrivals: Arrivals) -> str:
    from bot.app import build_core, build_database, build_escalation
    from bot.config import Settings
    from bot.handlers.telegram import TelegramChannel, TelegramSettings
    from bot.storage import ExitLog

    with tempfile.TemporaryDirectory(prefix="antam-bench-") as var_dir:
        admin = PrivateIdentity.generate()
        os.environ.update(ANTAM_VAR_DIR=var_dir, ANTAM_ADMIN_KEYS=crypto.b64e(
            admin.public().ed25519), DATABASE_URL=f"sqlite:///{var_dir}/antam.db")
        settings = Settings.from_env()
        database = build_database(settings)
        hub = build_escalation(settings, database)
        recipients = [_enrol(hub, admin, i) for i in range(counselors)]
        core = build_core(settings, database, hub)
        channel = TelegramChannel(core, TelegramSettings(token=standin.token,
                                                         base_url=standin.base_url,
                                                         poll_timeout=1),
                                  ExitLog(database))
        task = asyncio.create_task(channel.serve())
        await asyncio.sleep(1.0)
        first, last = [], []
        try:
            for n in range(CASES):
                f, lst = await _one_case(core._desk, arrivals, f"bench-user-{counselors}-{n}",
                                         counselors)
                first.append(f)
                last.append(lst)
                await asyncio.sleep(max(1.1, counselors / 25))  # stay inside Telegram's limits
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        seal_ms, approvals_ms = _encryption_cost(hub, recipients)
    f50, f95 = _percentiles(first)
    l50, l95 = _percentiles(last)
    return (f"| {counselors:>3} | {f50:7.1f} | {f95:7.1f} | {l50:7.1f} | {l95:7.1f} | "
            f"{seal_ms:6.2f} | {approvals_ms:6.2f} |")


async def _run() -> None:
    arrivals = Arrivals()
    with TelegramStandIn(on_sent=arrivals.on_sent) as standin:
        print("| counselors | first notified p50 ms | p95 ms | all notified p50 ms | p95 ms "
              "| seal per case ms | approval checks per case ms |")
        print("|---|---|---|---|---|---|---|")
        for counselors in LEVELS:
            print(await _level(counselors, standin, arrivals), flush=True)


def main() -> None:
    os.environ.pop("ANTAM_DATA_KEYS", None)
    for name in ("ANTAM_RASA_TOKEN", "ANTAM_CHANNEL_SECRET", "ANTAM_PSEUDONYM_KEY"):
        os.environ[name] = secrets.token_urlsafe(32)  # throwaway: no Rasa is involved
    os.environ["ANTAM_LOG_LEVEL"] = "WARNING"
    asyncio.run(_run())


if __name__ == "__main__":
    main()
