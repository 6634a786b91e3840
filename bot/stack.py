"""Run a private `antam up` (own var/ directory, free ports) for tools and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ANTAM = str(Path(sys.executable).parent / "antam")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports(count: int) -> int:
    """A base port p with p .. p+count-1 all free (Rasa instance i listens on base + i)."""
    for _ in range(100):
        base = free_port()
        if all(_bindable(base + i) for i in range(1, count)):
            return base
    raise RuntimeError(f"found no {count} consecutive free ports")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextmanager
def private_stack(timeout: float = 300, extra_env: dict[str, str] | None = None,
                  ) -> Iterator[tuple[dict[str, str], float]]:
    """Yield (environment for `antam` commands, seconds until ready).

    ``extra_env`` reaches `antam up` too, e.g. a Telegram token and stand-in URL.
    """
    instances = int((extra_env or {}).get("ANTAM_RASA_INSTANCES", "1"))
    with tempfile.TemporaryDirectory(prefix="antam-") as var_dir:
        env = dict(os.environ, ANTAM_VAR_DIR=var_dir, ANTAM_RASA_PORT=str(free_ports(instances)),
                   ANTAM_ACTIONS_PORT=str(free_ports(instances)),
                   ANTAM_API_PORT=str(free_port()), ANTAM_LOG_LEVEL="WARNING")
        for secret in ("ANTAM_RASA_TOKEN", "ANTAM_CHANNEL_SECRET", "ANTAM_PSEUDONYM_KEY",
                       "DATABASE_URL", "ANTAM_DATA_KEYS", "ANTAM_ADMIN_KEYS"):
            env.pop(secret, None)
        env.update(extra_env or {})
        started = time.monotonic()
        up = subprocess.Popen([ANTAM, "up", "--startup-timeout", str(timeout)], env=env,
                              stdout=subprocess.PIPE, text=True)
        try:
            if not any(line.strip() == "ready" for line in up.stdout):
                raise RuntimeError("antam up stopped before it was ready")
            yield env, time.monotonic() - started
        finally:
            up.send_signal(signal.SIGTERM)
            up.wait(timeout=60)
