"""Benchmark: one turn through the whole stack vs. the safety net alone.

Starts `antam up` on free ports with a private var/ directory, sends N messages
through the conversation core, and prints latency percentiles. Ratios between
the two columns are what to compare across machines.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_core, lexicon_path  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core import IncomingMessage  # noqa: E402
from bot.safety import SafetyNet  # noqa: E402
from common.content import ContentStore  # noqa: E402
from common.textnorm import load_lexicon  # noqa: E402
from tests.helpers import free_port  # noqa: E402

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
    with tempfile.TemporaryDirectory() as var_dir:
        os.environ.update({"ANTAM_VAR_DIR": var_dir, "ANTAM_RASA_PORT": str(free_port()),
                           "ANTAM_ACTIONS_PORT": str(free_port()), "ANTAM_LOG_LEVEL": "WARNING"})
        up = subprocess.Popen([str(Path(sys.executable).parent / "antam"), "up"],
                              stdout=subprocess.PIPE, text=True)
        try:
            for line in up.stdout:
                if line.strip() == "ready":
                    break
            else:
                raise SystemExit("antam up did not get ready")
            asyncio.run(_measure())
        finally:
            up.send_signal(signal.SIGTERM)
            up.wait(timeout=60)


if __name__ == "__main__":
    main()
