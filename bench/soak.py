"""Benchmark: a soak. Users talk at a steady pace for BENCH_SOAK_S seconds (default 600)
through the conversation core and two Rasa instances sharing Redis; every minute it prints
turns, degraded replies and the memory (RSS) of every process, and at the end the growth of
each process from the first minute to the last (target: under 5%).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scaling import MESSAGES, REDIS_URL, _stack_processes  # noqa: E402
from bot.app import build_core  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core import IncomingMessage  # noqa: E402
from bot.stack import private_stack  # noqa: E402

SOAK_S = float(os.environ.get("BENCH_SOAK_S", "600"))
USERS = int(os.environ.get("BENCH_SOAK_USERS", "20"))


async def _user(core, n: int, stop: float, counts: dict[str, int]) -> None:
    for i in itertools.count():
        if time.monotonic() > stop:
            return
        # A new conversation every 12 messages: trackers come and go as in real use.
        result = await core.handle(IncomingMessage("bench", f"s{n}-{i // 12}",
                                                   MESSAGES[i % len(MESSAGES)]))
        counts["turns"] += 1
        counts["degraded"] += result.degraded


async def _run(var_dir: str) -> None:
    core = build_core(Settings.from_env())
    counts = {"turns": 0, "degraded": 0}
    stop = time.monotonic() + SOAK_S
    users = [asyncio.create_task(_user(core, n, stop, counts)) for n in range(USERS)]
    first: dict[str, int] = {}
    started = time.monotonic()
    while any(not u.done() for u in users):
        await asyncio.sleep(min(60, max(1.0, stop - time.monotonic())))
        memory = _stack_processes(var_dir)
        if not first:
            first = memory
        minute = (time.monotonic() - started) / 60
        print(f"{minute:5.1f} min: {counts['turns']} turns, {counts['degraded']} degraded; "
              f"RSS MB " + ", ".join(f"{k.split(' (')[0]} {v}" for k, v in sorted(memory.items())),
              flush=True)
    await asyncio.gather(*users)
    last = _stack_processes(var_dir)
    growth = {k.split(" (")[0]: (last[k] - first[k]) / first[k] for k in first if k in last}
    print("memory growth from the first minute: " + ", ".join(
        f"{k} {g:+.1%}" for k, g in sorted(growth.items())))
    await core.drain()


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    extra = {"ANTAM_RASA_INSTANCES": "2", "REDIS_URL": REDIS_URL,
             "ANTAM_REDIS_PREFIX": "soak" + uuid.uuid4().hex[:8]}
    with private_stack(extra_env=extra) as (env, _):
        os.environ.update(env)
        asyncio.run(_run(env["ANTAM_VAR_DIR"]))


if __name__ == "__main__":
    main()
