"""`antam up`: start the services, wait for their health checks, keep watch.

Each service runs in its own process group with its output in var/log/.
If one dies during start-up, the supervisor names it, shows why (exit status
and the end of its log) and stops the others instead of hanging. If one dies
later, it is named and restarted while the bot answers in degraded mode; one
that keeps dying stops everything. SIGINT/SIGTERM stop all.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str  # 200 means ready
    listen: str  # shown to the operator
    env: dict[str, str] | None = None
    cwd: Path | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)
    log_path: Path | None = None
    niceness: int = 0  # added to the scheduling niceness: >0 yields the CPU to others


class ServiceFailed(RuntimeError):
    """A service exited or never became healthy; the message says which and why."""


def _tail(path: Path | None, lines: int = 12) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join("    " + line for line in text[-lines:])


def _describe_exit(service: Service) -> str:
    code = service.process.returncode if service.process else None
    how = (f"killed by signal {-code}" if code is not None and code < 0
           else f"exit status {code}")
    tail = _tail(service.log_path)
    log_hint = f"\n  last lines of {service.log_path}:\n{tail}" if tail else ""
    return f"service '{service.name}' stopped unexpectedly ({how}){log_hint}"


class Supervisor:
    def __init__(self, services: list[Service], log_dir: Path,
                 out: Callable[[str], None] = print,
                 warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr,
                                                                  flush=True)):
        self.services = services
        self.log_dir = log_dir
        self._out = out
        self._warn = warn

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for service in self.services:
            service.log_path = self.log_dir / f"{service.name}.log"
            self._spawn(service)

    def _spawn(self, service: Service) -> None:
        with service.log_path.open("ab") as log_file:
            service.process = subprocess.Popen(
                service.command, env=service.env, cwd=service.cwd, stdout=log_file,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        if service.niceness:
            with contextlib.suppress(OSError):  # a lower priority is a nicety, not a need
                os.setpriority(os.PRIO_PROCESS, service.process.pid,
                               os.getpriority(os.PRIO_PROCESS, 0) + service.niceness)

    def check_alive(self) -> None:
        for service in self.services:
            if service.process is not None and service.process.poll() is not None:
                raise ServiceFailed(_describe_exit(service))

    async def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            for service in self.services:
                while not await _healthy(client, service.health_url):
                    self.check_alive()
                    if time.monotonic() > deadline:
                        raise ServiceFailed(
                            f"service '{service.name}' did not become healthy within "
                            f"{timeout:.0f} s; see {service.log_path}")
                    await asyncio.sleep(0.5)
                self._out(f"{service.name} pid={service.process.pid} {service.listen}")

    async def watch(self, stop: asyncio.Event, max_restarts: int = 5,
                    window_s: float = 600.0) -> None:
        """Keep the services running until ``stop`` is set.

        A service that dies after start-up is named, with why, and restarted:
        meanwhile the channels answer in degraded mode instead of going silent.
        More than ``max_restarts`` deaths of one service within ``window_s``
        raise ServiceFailed.
        """
        deaths: dict[str, list[float]] = {}
        while not stop.is_set():
            for service in self.services:
                if service.process is None or service.process.poll() is None:
                    continue
                failure = _describe_exit(service)
                now = time.monotonic()
                recent = [t for t in deaths.get(service.name, []) if t > now - window_s]
                deaths[service.name] = [*recent, now]
                if len(recent) >= max_restarts:
                    raise ServiceFailed(f"{failure}\n  it died {len(recent) + 1} times in "
                                        f"{window_s:.0f} s; giving up")
                self._warn(f"warning: {failure}\n  restarting it")
                self._spawn(service)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.5)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM every process group, then SIGKILL what is left after ``grace``."""
        running = [s.process for s in self.services if s.process and s.process.poll() is None]
        for process in running:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


async def _healthy(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False
