"""Benchmark: the emergency reply while Rasa is saturated.

Starts a private `antam up` (the real Rasa and action server) and sends a wave of
harmless turns at once, more than Rasa can answer inside its timeout. During the
wave, crisis messages arrive: some the safety net is certain of (typed with their
marks), some it is not (bare letters, weighed by the model for at most
CRISIS_PATIENCE_S, not at all while Rasa is saturated). For each, it prints the
time to the emergency reply (sent early through the channel's sender) and to the
turn's whole answer, and the same for the harmless turns. Target: the emergency
reply within 100 ms, whatever Rasa is doing. Then, one turn at a time, how often
an uncertain match is still weighed by the model in time.
Compare the ratios in one run, not the absolute figures.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_core  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core import (  # noqa: E402
    CRISIS_PATIENCE_S,
    RASA_SATURATED,
    ConversationCore,
    IncomingMessage,
)
from bot.stack import private_stack  # noqa: E402

WAVE = 60  # harmless turns sent together: Rasa answers ~12–15 turns/s on 2 cores
HARMLESS = ["xin chào", "quấy rối ở cơ quan bị phạt bao nhiêu", "cho tôi số đường dây nóng",
            "thời tiết hôm nay thế nào", "tôi muốn làm câu đố"]
CERTAIN = ["chồng tôi đang đánh tôi", "anh ta cầm dao đòi giết tôi", "tôi muốn tự tử"]
UNCERTAIN = ["toi dang bi danh", "ck cam dao doa giet e", "toi muon chet"]
# Bare-letter look-alikes the model calms when it has the time (tests/nlu_eval/precision.yml).
CALMED = ["bi danh cua minh tren mang la meo con", "chi oi cuu em voi, excel bi loi cong thuc",
          "hang ngoai bi danh thue nang qua"]


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"p50 {statistics.median(ordered):7.1f} ms  p95 {p95:7.1f} ms  max {ordered[-1]:7.1f} ms"


async def _turn(core: ConversationCore, user: str, text: str,
                crises: list[bool] | None = None) -> tuple[float | None, float]:
    """(ms to the early emergency reply or None, ms to the whole answer); ``crises``
    collects whether the turn carried the emergency reply at all."""
    started = time.perf_counter()
    early: list[float] = []

    async def send_early(_reply) -> None:
        early.append((time.perf_counter() - started) * 1000)

    result = await core.handle(IncomingMessage("bench", user, text), early=send_early)
    if crises is not None:
        crises.append(result.crisis)
    return (early[0] if early else None), (time.perf_counter() - started) * 1000


async def _wave(core: ConversationCore) -> None:
    harmless = [asyncio.create_task(_turn(core, f"h{i}", HARMLESS[i % len(HARMLESS)]))
                for i in range(WAVE)]
    await asyncio.sleep(0.2)  # the wave is in flight: Rasa is busy with it
    crises = {kind: [asyncio.create_task(_turn(core, f"{kind}{i}", text))
                     for i, text in enumerate(texts * 3)]
              for kind, texts in (("certain", CERTAIN), ("uncertain", UNCERTAIN))}
    harmless_done = await asyncio.gather(*harmless)
    print(f"{WAVE} harmless turns at once, crisis messages during the wave "
          f"(patience {CRISIS_PATIENCE_S * 1000:.0f} ms, saturated above "
          f"{RASA_SATURATED} turns in flight):")
    print(f"  harmless, whole answer:        {_ms([whole for _, whole in harmless_done])}")
    for kind, tasks in crises.items():
        done = await asyncio.gather(*tasks)
        early = [e for e, _ in done if e is not None]
        print(f"  {kind:9} crisis, emergency reply: {_ms(early)}  "
              f"({len(early)}/{len(done)} sent early)")
        print(f"  {kind:9} crisis, whole answer:    {_ms([whole for _, whole in done])}")


async def _unloaded(core: ConversationCore) -> None:
    """One turn at a time: the model has time to weigh the uncertain matches."""
    await asyncio.sleep(15)  # Rasa still works through the wave's abandoned turns
    print("one turn at a time:")
    for label, texts in (("uncertain crisis", UNCERTAIN), ("calmed look-alike", CALMED)):
        crises: list[bool] = []
        done = [await _turn(core, f"u-{label}-{i}", t, crises) for i, t in enumerate(texts * 3)]
        early = [e for e, _ in done if e is not None]
        print(f"  {label:17}: emergency reply {sum(crises)}/{len(done)}, sent early "
              f"{len(early)}; whole answer {_ms([whole for _, whole in done])}")


def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # the wave's degraded turns are expected
    with private_stack() as (env, _):
        os.environ.update(env)
        core = build_core(Settings.from_env())
        asyncio.run(_wave(core))
        asyncio.run(_unloaded(build_core(Settings.from_env())))


if __name__ == "__main__":
    main()
