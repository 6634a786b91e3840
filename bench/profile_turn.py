"""Benchmark: where a turn's time goes inside Rasa and the action server, before and after
nlu/speedups.py. Run with the Rasa runtime: `.venv-rasa/bin/python bench/profile_turn.py`.

Starts an action server, loads the trained model into a Rasa Agent (the same processor the
server runs, without HTTP), sends the same messages through it, and prints the mean time per
turn, the share of named stages under cProfile, then the same after the speed-ups are loaded.
"""

from __future__ import annotations

import asyncio
import cProfile
import logging
import os
import pstats
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MESSAGES = ["xin chào", "cho toi xin so duong day nong", "tôi bị sếp quấy rối",
            "thời tiết hôm nay thế nào", "làm sao để giữ bằng chứng", "có bị phạt không"]
TURNS = int(os.environ.get("BENCH_TURNS", "300"))
STAGES = {  # label: (file suffix, function) in Rasa's own code
    "NLU parse": ("rasa/core/processor.py", "parse_message"),
    "tracker read": ("rasa/core/processor.py", "fetch_tracker_and_update_session"),
    "tracker write": ("rasa/core/processor.py", "save_tracker"),
    "policy prediction": ("rasa/core/processor.py", "_predict_next_with_tracker"),
    "action server call": ("rasa/core/actions/action.py", "run"),
    "answer validation": ("rasa/core/actions/action.py", "_validate_action_result"),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_actions(port: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), ANTAM_CONTENT_DIR=str(ROOT / "content"),
               SANIC_HOST="127.0.0.1", PYTHONWARNINGS="ignore")
    process = subprocess.Popen([sys.executable, "-m", "rasa_sdk", "--actions", "actions",
                                "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the action server did not start")


async def _turns(agent, n: int, prefix: str) -> float:
    started = time.perf_counter()
    for i in range(n):
        await agent.handle_text(MESSAGES[i % len(MESSAGES)], sender_id=f"{prefix}{i % 30}")
    return (time.perf_counter() - started) / n * 1000


def _stages(profile: cProfile.Profile, total_s: float) -> str:
    stats = pstats.Stats(profile).stats
    parts = []
    for label, (suffix, name) in STAGES.items():
        seconds = sum(v[3] for (file, _, func), v in stats.items()
                      if func == name and file.endswith(suffix))
        parts.append(f"{label} {seconds / total_s:4.0%}")
    return ", ".join(parts)


async def _measure(agent, label: str) -> None:
    await _turns(agent, 12, f"warm-{label}-")
    mean = min([await _turns(agent, TURNS, f"{label}{r}-") for r in range(2)])
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    await _turns(agent, TURNS // 3, f"p-{label}-")
    profile.disable()
    print(f"{label:7}: {mean:5.1f} ms per turn; under cProfile: "
          f"{_stages(profile, time.perf_counter() - started)}", flush=True)


async def main() -> None:
    logging.disable(logging.WARNING)
    from rasa.utils.log_utils import configure_structlog
    configure_structlog(logging.WARNING)  # Rasa's structured debug lines go to stdout
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.endpoints import EndpointConfig

    port = _free_port()
    actions = _start_actions(port)
    try:
        endpoints = AvailableEndpoints(action=EndpointConfig(
            url=f"http://127.0.0.1:{port}/webhook"))
        agent = await load_agent(model_path=str(ROOT / "nlu" / "models" / "antam.tar.gz"),
                                 endpoints=endpoints)
        print(f"{TURNS} turns each, in-memory trackers, action server on 127.0.0.1")
        await _measure(agent, "before")
        import nlu.speedups  # noqa: F401  (what the Rasa server loads with our channel)
        await _measure(agent, "after")
    finally:
        actions.terminate()
        actions.wait(timeout=30)


if __name__ == "__main__":
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    asyncio.run(main())
