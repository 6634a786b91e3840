"""Benchmark: one turn through the whole stack vs. the safety net alone.

Starts a private `antam up`, sends N messages through the conversation core,
and prints latency percentiles. Compare the ratio, not the absolute figures.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_core, lexicon_path  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core import IncomingMessage  # noqa: E402
from bot.safety import SafetyNet  # noqa: E402
from bot.stack import private_stack  # noqa: E402
from common.content import ContentStore  # noqa: E402
from common.textnorm import load_lexicon  # noqa: E402

MESSAGES = ["xin chào", "cho toi xin so duong day nong", "toi dang bi danh",
            "thời tiết hôm nay thế nào", "/ask_hotline"]
ROUNDS = 40


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms"


async def _measure() -> None:
    settings = Settings.from_env()
    core = build_core(settings)
    safety = SafetyNet(ContentStore(settings.content_dir), load_lexicon(lexicon_path(settings)))
    full, net = [], []
    for i in range(ROUNDS):
        for text in MESSAGES:
            started = time.perf_counter()
            await core.handle(IncomingMessage("bench", f"user-{i}", text))
            full.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            safety.assess(text)
            net.append((time.perf_counter() - started) * 1000)
    print(f"turns measured:        {len(full)}")
    print(f"full turn (core+Rasa): {_percentiles(full)}")
    print(f"safety net alone:      {_percentiles(net)}")
    print(f"ratio full/net (median): {statistics.median(full) / statistics.median(net):.0f}x")


def main() -> None:
    with private_stack() as (env, _):
        os.environ.update(env)
        asyncio.run(_measure())


if __name__ == "__main__":
    main()
