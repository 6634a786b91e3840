"""Benchmark: training time and model load time against the NLU issue's budgets.

Training: `antam train --force` (the real `make train` path), wall clock.
Load: from `antam up` to its `ready` line (Rasa start-up, model load, action
server and one warm-up turn), so it is an upper bound on the model load alone.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.stack import ANTAM, private_stack  # noqa: E402

TRAIN_BUDGET_S, LOAD_BUDGET_S = 300, 60


def main() -> None:
    started = time.monotonic()
    subprocess.run([ANTAM, "train", "--force"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    train_s = time.monotonic() - started
    with private_stack() as (_, ready_s):
        pass
    print(f"training (antam train --force): {train_s:6.1f} s  budget {TRAIN_BUDGET_S} s  "
          f"ratio {train_s / TRAIN_BUDGET_S:.2f}")
    print(f"start-up to ready (incl. load): {ready_s:6.1f} s  budget {LOAD_BUDGET_S} s  "
          f"ratio {ready_s / LOAD_BUDGET_S:.2f}")


if __name__ == "__main__":
    main()
