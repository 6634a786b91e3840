"""Benchmark: turns per second and latency with one and with two Rasa instances.

For each instance count, a private `antam up` (Rasa instances sharing sealed conversations
through the machine's Redis) and, in the same run:

- the bot: users send messages one after another through the conversation core (safety net,
  pseudonyms, statistics, routing over the instances), at 1, 10, 50 and 200 at once;
- bare Rasa: the same messages straight to instance 1's An Tâm channel, at the same
  concurrency, so that the ratio bot/Rasa says what the bot adds;
- the emergency reply's latency for crisis messages sent while 200 users talk;
- memory (RSS) of every process of the stack;
- with two instances: the time from killing instance 1 to the next full answer for a
  conversation it served.

Figures are medians and p95 in ms; throughput in turns/s. Compare ratios within one run.
BENCH_USERS (default 1,10,50,200) and BENCH_INSTANCES (default 1,2) narrow it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_core  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core import ConversationCore, IncomingMessage  # noqa: E402
from bot.stack import private_stack  # noqa: E402

MESSAGES = ["xin chào", "cho toi xin so duong day nong", "tôi bị sếp quấy rối",
            "thời tiết hôm nay thế nào", "làm sao để giữ bằng chứng", "có bị phạt không"]
CRISIS = ["tôi muốn chết", "chong dang cam dao doa giet em", "nó bóp cổ em"]
PER_USER = 4
LEVELS = tuple(int(n) for n in os.environ.get("BENCH_USERS", "1,10,50,200").split(","))
INSTANCES = tuple(int(n) for n in os.environ.get("BENCH_INSTANCES", "1,2").split(","))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(int(len(ordered) * q) - 1, 0)] if ordered else float("nan")


async def _bot_user(core: ConversationCore, user: str, latencies: list[float],
                    degraded: list[bool]) -> None:
    for i in range(PER_USER):
        started = time.perf_counter()
        result = await core.handle(IncomingMessage("bench", user, MESSAGES[i % len(MESSAGES)]))
        latencies.append((time.perf_counter() - started) * 1000)
        degraded.append(result.degraded)


async def _rasa_user(client: httpx.AsyncClient, settings: Settings, user: str,
                     latencies: list[float]) -> None:
    for i in range(PER_USER):
        started = time.perf_counter()
        response = await client.post(f"{settings.rasa_urls[0]}/webhooks/antam/webhook",
                                     headers={"Authorization": f"Bearer {settings.channel_secret}"},
                                     json={"sender": user, "message": MESSAGES[i % len(MESSAGES)]})
        if response.status_code == 200:
            latencies.append((time.perf_counter() - started) * 1000)


async def _crisis_turn(core: ConversationCore, user: str, text: str) -> float | None:
    started = time.perf_counter()
    first: list[float] = []

    async def early(_reply) -> None:
        first.append((time.perf_counter() - started) * 1000)

    result = await core.handle(IncomingMessage("bench", user, text), early=early)
    if first:
        return first[0]
    return (time.perf_counter() - started) * 1000 if result.crisis else None


async def _level(core: ConversationCore, settings: Settings, users: int,
                 ids: itertools.count) -> tuple[str, list[float]]:
    bot, degraded, rasa, crisis = [], [], [], []
    started = time.perf_counter()
    load = [asyncio.create_task(_bot_user(core, f"u{next(ids)}", bot, degraded))
            for _ in range(users)]
    if users >= 200:  # crisis messages while the crowd talks
        await asyncio.sleep(0.3)
        crisis = [c for c in await asyncio.gather(*(
            _crisis_turn(core, f"c{next(ids)}", CRISIS[n % len(CRISIS)]) for n in range(15)))
            if c is not None]
    await asyncio.gather(*load)
    bot_s = time.perf_counter() - started
    async with httpx.AsyncClient(timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(_rasa_user(client, settings, f"r{next(ids)}", rasa)
                               for _ in range(users)))
        rasa_s = time.perf_counter() - started
    row = (f"| {users:>3} | {statistics.median(bot):7.0f} | {_p(bot, 0.95):7.0f} | "
           f"{len(bot) / bot_s:6.1f} | {sum(degraded) / len(degraded):5.0%} | "
           f"{statistics.median(rasa):7.0f} | {_p(rasa, 0.95):7.0f} | "
           f"{len(rasa) / rasa_s:6.1f} | {statistics.median(bot) / statistics.median(rasa):5.2f} |")
    return row, crisis


def _stack_processes(var_dir: str) -> dict[str, int]:
    """RSS in MB of every process started for this stack (found by its ANTAM_VAR_DIR)."""
    found: dict[str, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
            if f"ANTAM_VAR_DIR={var_dir}".encode() not in environ.split(b"\0"):
                continue
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            rss_kb = int(next(line.split()[1] for line in (proc / "status").read_text()
                              .splitlines() if line.startswith("VmRSS")))
        except (OSError, StopIteration):
            continue
        name = ("rasa" if " run " in cmd else "actions" if "rasa_sdk" in cmd
                else "antam up" if " up" in cmd else cmd.split()[0].rsplit("/", 1)[-1])
        port = next((w for w in cmd.split() if w.isdigit() and int(w) > 1024), "")
        found[f"{name} {port}".strip() + f" (pid {proc.name})"] = rss_kb // 1024
    return found


async def _takeover(core: ConversationCore, settings: Settings, env: dict[str, str]) -> str:
    """Kill instance 1 and time the next full answer of a conversation it served."""
    pool = core._nlu.pool  # noqa: SLF001 (the bench reads the bot's own routing)
    user = next(f"k{n}" for n in range(1000)
                if pool.order(core.pseudonym("bench", f"k{n}"))[0] == settings.rasa_urls[0])
    await core.handle(IncomingMessage("bench", user, "chồng em đánh em"))
    victim = next(pid for name, pid in _pids(env["ANTAM_VAR_DIR"]).items()
                  if name == f"rasa {settings.rasa_port}")
    os.killpg(victim, signal.SIGKILL)
    killed = time.perf_counter()
    while True:
        result = await core.handle(IncomingMessage("bench", user, "báo ở đâu"))
        if not result.degraded:
            break
    return (f"instance 1 killed: the next full answer for its conversation came after "
            f"{(time.perf_counter() - killed) * 1000:.0f} ms")


def _pids(var_dir: str) -> dict[str, int]:
    return {name.rsplit(" (pid ", 1)[0]: int(name.rsplit(" (pid ", 1)[1].rstrip(")"))
            for name in _stack_processes(var_dir)}


async def _run(instances: int, env: dict[str, str]) -> None:
    settings = Settings.from_env()
    core = build_core(settings)
    ids = itertools.count()
    for n in range(5):  # warm every instance and the core
        await core.handle(IncomingMessage("bench", f"warm{n}", "xin chào"))
    print(f"\n### {instances} Rasa instance(s)\n")
    print("| users | bot p50 | bot p95 | bot turns/s | degraded | Rasa p50 | Rasa p95 "
          "| Rasa turns/s | p50 ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for users in LEVELS:
        row, crisis = await _level(core, settings, users, ids)
        print(row, flush=True)
        if crisis:
            print(f"\nemergency reply at {users} users: p50 {statistics.median(crisis):.0f} ms, "
                  f"max {max(crisis):.0f} ms ({len(crisis)} crisis messages)\n")
    print("\nmemory (RSS, MB): " + ", ".join(
        f"{name} {mb}" for name, mb in sorted(_stack_processes(env["ANTAM_VAR_DIR"]).items())))
    if instances > 1:
        print(await _takeover(core, settings, env))
    await core.drain()


def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # degraded turns under load are expected
    for instances in INSTANCES:
        extra = {"ANTAM_RASA_INSTANCES": str(instances), "REDIS_URL": REDIS_URL,
                 "ANTAM_REDIS_PREFIX": "bench" + uuid.uuid4().hex[:8]}
        with private_stack(extra_env=extra) as (env, _):
            os.environ.update(env)
            asyncio.run(_run(instances, env))


if __name__ == "__main__":
    main()
