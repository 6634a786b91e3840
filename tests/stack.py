"""The real stack for tests: `antam up` with Rasa and the action server, once per session."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import ROOT, free_port

ANTAM = str(Path(sys.executable).parent / "antam")
STARTUP_TIMEOUT = 300
SECRET_VARS = ("ANTAM_RASA_TOKEN", "ANTAM_CHANNEL_SECRET", "ANTAM_PSEUDONYM_KEY", "DATABASE_URL",
               "ANTAM_DATA_KEYS", "ANTAM_ADMIN_KEYS")


def stack_env(var_dir: Path) -> dict[str, str]:
    """A private var/ and free ports, so tests never touch a developer's running bot."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
    env.update({
        "ANTAM_VAR_DIR": str(var_dir),
        "ANTAM_RASA_PORT": str(free_port()),
        "ANTAM_ACTIONS_PORT": str(free_port()),
        "ANTAM_API_PORT": str(free_port()),
        "ANTAM_LOG_LEVEL": "INFO",
    })
    return env


@dataclass
class Stack:
    env: dict[str, str]
    var_dir: Path
    process: subprocess.Popen
    stdout_lines: list[str] = field(default_factory=list)

    @property
    def rasa_port(self) -> int:
        return int(self.env["ANTAM_RASA_PORT"])

    @property
    def actions_port(self) -> int:
        return int(self.env["ANTAM_ACTIONS_PORT"])

    def secret(self, name: str) -> str:
        return (self.var_dir / name).read_text().strip()

    def chat(self, lines: list[bytes | str], timeout: float = 120) -> ChatRun:
        payload = b"".join((ln.encode() if isinstance(ln, str) else ln) + b"\n" for ln in lines)
        done = subprocess.run([ANTAM, "chat", "--jsonl"], input=payload, env=self.env,
                              capture_output=True, timeout=timeout, cwd=ROOT)
        records = [json.loads(line) for line in done.stdout.decode().splitlines()]
        return ChatRun(records, done.stderr.decode(errors="replace"), done.returncode)


@dataclass
class ChatRun:
    records: list[dict]
    stderr: str
    returncode: int


def _read_lines(stream, sink: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        sink.put(line.rstrip("\n"))
    sink.put(None)


def start_up(env: dict[str, str]) -> tuple[subprocess.Popen, queue.Queue]:
    process = subprocess.Popen([ANTAM, "up"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    return process, lines


def wait_for_line(lines: queue.Queue, wanted: str, timeout: float) -> list[str]:
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if line == wanted:
            return seen
    raise AssertionError(f"never printed {wanted!r}; printed: {seen}")


@contextmanager
def running_up(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, list[str]]]:
    """`antam up` until "ready" (its stderr in the failure if it never gets there), then
    stopped with SIGTERM, which it must survive cleanly."""
    process, lines = start_up(env)
    try:
        printed = wait_for_line(lines, "ready", STARTUP_TIMEOUT)
    except AssertionError:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        raise AssertionError(process.stderr.read()) from None
    yield process, printed
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, "antam up must stop cleanly on SIGTERM"


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Stack:
    var_dir = tmp_path_factory.mktemp("var")
    env = stack_env(var_dir)
    # Its own copy of the content, beside var/ (whose files must hold nothing a user said):
    # the editors' browser test publishes into it.
    content = tmp_path_factory.mktemp("content")
    shutil.copytree(ROOT / "content", content, dirs_exist_ok=True)
    env["ANTAM_CONTENT_DIR"] = str(content)
    with running_up(env) as (process, seen):
        yield Stack(env, var_dir, process, seen)
