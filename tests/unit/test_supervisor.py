"""The supervisor with real child processes."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

from bot.supervisor import Service, ServiceFailed, Supervisor
from tests.helpers import free_port


def _http_server(port: int) -> list[str]:
    return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]


def test_healthy_services_are_announced_and_stopped(tmp_path):
    port = free_port()
    printed: list[str] = []
    supervisor = Supervisor([Service("web", _http_server(port), f"http://127.0.0.1:{port}/",
                                     f"http://127.0.0.1:{port}", cwd=tmp_path)],
                            tmp_path / "log", out=printed.append)
    supervisor.start()
    try:
        asyncio.run(supervisor.wait_healthy(timeout=30))
    finally:
        supervisor.stop(grace=5)
    pid = supervisor.services[0].process.pid
    assert printed == [f"web pid={pid} http://127.0.0.1:{port}"]
    assert supervisor.services[0].process.poll() is not None


def test_a_service_that_dies_is_named_with_its_last_words(tmp_path):
    crash = [sys.executable, "-c", "import sys; print('config file broken'); sys.exit(3)"]
    supervisor = Supervisor([Service("rasa", crash, "http://127.0.0.1:9/", "-")],
                            tmp_path / "log")
    supervisor.start()
    with pytest.raises(ServiceFailed) as failure:
        asyncio.run(supervisor.wait_healthy(timeout=30))
    message = str(failure.value)
    assert "service 'rasa' stopped unexpectedly (exit status 3)" in message
    assert "config file broken" in message


def test_a_service_that_never_gets_healthy_times_out(tmp_path):
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    supervisor = Supervisor([Service("slow", sleeper, "http://127.0.0.1:9/", "-")],
                            tmp_path / "log")
    supervisor.start()
    started = time.monotonic()
    try:
        with pytest.raises(ServiceFailed, match="did not become healthy"):
            asyncio.run(supervisor.wait_healthy(timeout=2))
    finally:
        supervisor.stop(grace=5)
    assert time.monotonic() - started < 15


def test_stop_kills_a_service_that_ignores_sigterm(tmp_path):
    stubborn = [sys.executable, "-c",
                "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                "time.sleep(60)"]
    supervisor = Supervisor([Service("stubborn", stubborn, "http://127.0.0.1:9/", "-")],
                            tmp_path / "log")
    supervisor.start()
    time.sleep(0.5)
    supervisor.stop(grace=1)
    assert supervisor.services[0].process.returncode == -9


def test_a_service_that_dies_later_is_named_restarted_then_given_up(tmp_path):
    dies_soon = [sys.executable, "-c", "import sys, time; time.sleep(0.3); sys.exit(4)"]
    warnings: list[str] = []
    supervisor = Supervisor([Service("actions", dies_soon, "http://127.0.0.1:9/", "-")],
                            tmp_path / "log", warn=warnings.append)
    supervisor.start()

    async def watch() -> None:
        await supervisor.watch(asyncio.Event(), max_restarts=2, window_s=60)

    with pytest.raises(ServiceFailed, match="died 3 times in 60 s; giving up"):
        asyncio.run(asyncio.wait_for(watch(), timeout=30))
    assert len(warnings) == 2
    assert all("service 'actions' stopped unexpectedly (exit status 4)" in w
               and "restarting" in w for w in warnings)
