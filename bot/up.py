"""`antam up --role bot|rasa|actions|api|all`: start one part of the service, or all of it.

- rasa, actions: ANTAM_RASA_INSTANCES Rasa servers (instance i on ANTAM_RASA_PORT + i), each
  with its own action server (ANTAM_ACTIONS_PORT + i), supervised and restarted when they die.
- bot: the messenger channels (Telegram, Zalo), spreading turns over the Rasa instances, with
  /healthz, /readyz and /metrics on ANTAM_OPS_PORT.
- api: the counselors' workspace and API, the escalation timers, and the same health pages.
- all (default): every part, as `make run` needs. With ANTAM_BOT_WORKERS above 1 the
  channels run in that many supervised `--role bot` processes sharing the webhook ports
  (SO_REUSEPORT), and this process serves the API.

Each process is announced on one line, "name pid=N address", then "ready".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import uuid

from sqlalchemy.exc import OperationalError

from bot.app import (
    build_core,
    build_database,
    build_editorial,
    build_escalation,
    build_readiness,
    build_telegram,
    build_zalo,
    instance_name,
    server_keys,
)
from bot.config import Settings, bind_address
from bot.editorial.api import Editorial
from bot.escalation.crypto import PublicIdentity, b64e
from bot.escalation.hub import EscalationHub
from bot.handlers.console import ConsoleChannel
from bot.ops.http import ops_handlers, serve_ops
from bot.ops.metrics import Metrics
from bot.rasa_client import NluUnavailable, RasaClient
from bot.rasa_runtime import action_server_command, rasa_env, rasa_server_command
from bot.secretfile import production
from bot.storage import Database
from bot.supervisor import Service, ServiceFailed, Supervisor
from bot.training import MODEL_NAME

ROLES = ("all", "bot", "rasa", "actions", "api")
# Rasa and its action server yield the CPU to the bot when the machine is saturated: the
# bot sends the emergency reply, and it must not wait behind the model (bench/scaling.py).
MODEL_NICENESS = 5


class ConfigurationError(ValueError):
    """Settings that cannot give a working service; the message says what to set."""


def bot_workers() -> int:
    return int(os.environ.get("ANTAM_BOT_WORKERS", "").strip() or 1)


def check_settings(settings: Settings, role: str) -> None:
    workers = bot_workers()
    if workers < 1:
        raise ConfigurationError("ANTAM_BOT_WORKERS must be 1 or more")
    if workers > 1 and role == "all":
        if not settings.database_url.startswith("postgresql"):
            raise ConfigurationError(
                f"ANTAM_BOT_WORKERS={workers} needs DATABASE_URL on PostgreSQL: the workers "
                "share updates, buttons and the outbox there")
        if os.environ.get("TELEGRAM_BOT_TOKEN") and not os.environ.get("TELEGRAM_WEBHOOK_URL"):
            raise ConfigurationError(
                f"ANTAM_BOT_WORKERS={workers} needs Telegram in webhook mode "
                "(TELEGRAM_WEBHOOK_URL): only one process may poll for updates")
    if settings.rasa_instances > 1 and not settings.redis_url and role in ("all", "rasa"):
        raise ConfigurationError(
            f"ANTAM_RASA_INSTANCES={settings.rasa_instances} needs REDIS_URL: the instances "
            "must share conversations so that one can take over from another")


def check_production(settings: Settings, role: str) -> None:
    """ANTAM_ENV=production runs on the shared services only: SQLite and per-instance
    memory are for one machine and for tests."""
    if not production():
        return
    if role in ("all", "bot", "api") and not settings.database_url.startswith("postgresql"):
        raise ConfigurationError("ANTAM_ENV=production needs DATABASE_URL on PostgreSQL "
                                 "(postgresql+psycopg://...)")
    if role in ("all", "rasa") and not settings.redis_url:
        raise ConfigurationError("ANTAM_ENV=production needs REDIS_URL: Rasa instances share "
                                 "conversations and locks there")


def services(settings: Settings, role: str) -> list[Service]:
    """The Rasa-runtime processes this role supervises (none for bot and api)."""
    count = settings.rasa_instances
    found: list[Service] = []
    for i in range(count):
        env = rasa_env(settings, i)
        if role in ("all", "actions"):
            port = settings.actions_port_of(i)
            found.append(Service(instance_name("actions", i, count),
                                 action_server_command(settings, i),
                                 health_url=f"http://127.0.0.1:{port}/health",
                                 listen=f"http://127.0.0.1:{port}/webhook", env=env,
                                 cwd=settings.root, niceness=MODEL_NICENESS))
        if role in ("all", "rasa"):
            url = f"http://127.0.0.1:{settings.rasa_port + i}"
            found.append(Service(instance_name("rasa", i, count),
                                 rasa_server_command(settings, i),
                                 health_url=f"{url}/status?token={settings.rasa_token}",
                                 listen=f"{url} (HTTP API needs the token; /webhooks/antam "
                                        "needs the channel secret)", env=env, cwd=settings.root,
                                 niceness=MODEL_NICENESS))
    return found


def worker_services(settings: Settings, count: int) -> list[Service]:
    """Bot workers, each `antam up --role bot` with health pages on ANTAM_OPS_PORT + i."""
    found = []
    for i in range(count):
        port = ops_port() + i
        env = dict(os.environ, ANTAM_OPS_PORT=str(port))
        found.append(Service(f"bot-{i + 1}", [sys.executable, "-m", "bot.cli", "up", "--role",
                                              "bot"],
                             health_url=f"http://127.0.0.1:{port}/healthz",
                             listen=f"http://127.0.0.1:{port}/healthz", env=env,
                             cwd=settings.root))
    return found


async def wait_for_database(settings: Settings, timeout: float,
                            clock=time.monotonic) -> Database | None:
    """The migrated database, waiting for it while it starts: one line when it is not
    there, another when it comes, and a clear refusal (not a crash loop) after ``timeout``."""
    deadline, delay, said = clock() + timeout, 0.5, False
    while True:
        try:
            database = await asyncio.to_thread(build_database, settings)
        except OperationalError as error:
            if clock() > deadline:
                print(f"error: the database stayed unreachable for {timeout:.0f} s "
                      f"({type(error.orig).__name__}); check DATABASE_URL", file=sys.stderr,
                      flush=True)
                return None
            if not said:
                print("the database is unreachable: waiting for it (check DATABASE_URL)",
                      file=sys.stderr, flush=True)
                said = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        if said:
            print("the database is reachable", file=sys.stderr, flush=True)
        return database


async def warm_up(settings: Settings) -> None:
    """One throwaway turn per instance so the first real user does not pay for warm-up."""
    for url in settings.rasa_urls:
        client = RasaClient(url, settings.channel_secret, timeout=60)
        with contextlib.suppress(NluUnavailable):
            await client.send(f"warmup-{uuid.uuid4().hex}", "xin chào")
        await client.close()


async def until_stopped(stop: asyncio.Event, work) -> bool:
    """Run ``work`` unless ``stop`` is set first; True if the work finished."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    done, pending = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    for unfinished in pending:
        unfinished.cancel()
    # Let cancelled work run its clean-up (channels stopping PTB, the API server) before the
    # loop closes; otherwise asyncio.run cancels it half-way and PTB logs a CRITICAL error.
    await asyncio.gather(*pending, return_exceptions=True)
    if task in done:
        task.result()  # re-raise ServiceFailed
        return True
    return False


async def up(settings: Settings, chat: bool, startup_timeout: float, role: str = "all") -> int:
    check_settings(settings, role)
    keys = server_keys(settings) if role in ("all", "bot", "api") else None
    check_production(settings, role)  # after the keys: a missing secret is named first
    if role in ("all", "rasa") and not (settings.model_dir / MODEL_NAME).exists():
        print(f"no trained model in {settings.model_dir}: run `make train`", file=sys.stderr)
        return 1
    database = None
    if keys is not None:  # migrated before any worker starts
        database = await wait_for_database(settings, startup_timeout)
        if database is None:
            return 1
    workers = bot_workers() if role == "all" else 1
    extra = worker_services(settings, workers) if workers > 1 else []
    supervisor = Supervisor(services(settings, role) + extra, settings.var_dir / "log")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    supervisor.start()
    try:
        if not await until_stopped(stop, supervisor.wait_healthy(startup_timeout)):
            return 0
        tasks: dict[str, asyncio.Task] = {}
        if database is not None:
            if role == "all":
                await warm_up(settings)
            hub = build_escalation(settings, database, keys)
            tasks = start_parts(settings, database, hub, role, channels_here=workers == 1)
        print("ready", flush=True)
        if chat and database is not None:
            channel = ConsoleChannel(build_core(settings, database, hub))
            await until_stopped(stop, _chat_then_stop(channel, stop))
        await until_stopped(stop, watch_all(supervisor, tasks, stop))
        return 0
    except ServiceFailed as failure:
        print(f"error: {failure}", file=sys.stderr, flush=True)
        return 1
    finally:
        supervisor.stop()
        print("stopped", file=sys.stderr, flush=True)


def start_parts(settings: Settings, database: Database, hub: EscalationHub,
                role: str, channels_here: bool = True) -> dict[str, asyncio.Task]:
    """This process's own parts, each as a task: the channels, the API, or both."""
    metrics = Metrics()
    readiness = build_readiness(settings, database, hub, metrics)
    channels = role == "bot" or (role == "all" and channels_here)
    tasks = {name: asyncio.create_task(work) for name, work in hub.background(
        timers=role in ("all", "api"), deliver=channels).items()}
    if role in ("all", "api"):
        editorial = build_editorial(settings, database)
        tasks.update(_start_api(hub, readiness, "bot+api" if channels else "api", editorial,
                                database))
    else:
        port = ops_port()
        print(f"bot pid={os.getpid()} http://127.0.0.1:{port}/healthz", flush=True)
        tasks["health pages"] = asyncio.create_task(serve_ops(readiness, port, bind_address()))
    if channels:
        tasks.update(_start_channels(settings, database, hub, metrics))
    return tasks


def ops_port() -> int:
    return int(os.environ.get("ANTAM_OPS_PORT", "").strip() or 8789)


def _start_api(hub: EscalationHub, readiness, name: str, editorial: Editorial,
               database: Database) -> dict[str, asyncio.Task]:
    from bot.editorial.api import editorial_handlers  # tornado routes; imported when serving
    from bot.indicators.api import indicator_handlers
    from bot.workspace.server import serve_workspace

    port = hub.service.policy.api_port
    print(f"{name} pid={os.getpid()} http://127.0.0.1:{port}/", flush=True)
    print(f"console: http://127.0.0.1:{port}/", flush=True)
    print(f"counselor API: http://127.0.0.1:{port}/api/v1 (put TLS in front)", flush=True)
    print(f"health: http://127.0.0.1:{port}/healthz, /readyz, /metrics", flush=True)
    key = hub.service.cases.signing_key
    print(f"server signing key: {b64e(key)} (fingerprint "
          f"{PublicIdentity(b'', key).fingerprint()})", flush=True)
    return {"counselor workspace": asyncio.create_task(
                serve_workspace(hub, port, bind_address(),
                                extra=ops_handlers(readiness)
                                + editorial_handlers(hub, editorial)
                                + indicator_handlers(hub, database)))}


def _start_channels(settings: Settings, database: Database, hub: EscalationHub,
                    metrics: Metrics) -> dict[str, asyncio.Task]:
    """The messenger channels that are configured, each as a task."""
    tasks: dict[str, asyncio.Task] = {}
    telegram = build_telegram(settings, database, hub, metrics)
    if telegram is None:
        print("telegram: disabled (set TELEGRAM_BOT_TOKEN to enable)", flush=True)
    else:
        mode = "webhook" if telegram.settings.webhook_url else "long polling"
        print(f"telegram: {mode} via {telegram.settings.base_url}<token>", flush=True)
        tasks["telegram"] = asyncio.create_task(telegram.serve())
    zalo = build_zalo(settings, database, hub, metrics)
    if zalo is None:
        print("zalo: disabled (set the ZALO_* variables to enable)", flush=True)
    else:
        print(f"zalo: webhook on http://127.0.0.1:{zalo.settings.webhook_port}/zalo/webhook",
              flush=True)
        tasks["zalo"] = asyncio.create_task(zalo.serve())
    return tasks


async def watch_all(supervisor: Supervisor, tasks: dict[str, asyncio.Task],
                    stop: asyncio.Event) -> None:
    """Watch the services and this process's parts; a part that ends is a failure too."""
    watch = asyncio.ensure_future(supervisor.watch(stop))
    try:
        while not watch.done():
            for name, task in tasks.items():
                if task.done():
                    error = task.exception() if not task.cancelled() else None
                    why = type(error).__name__ if error else "it ended"
                    raise ServiceFailed(f"channel '{name}' stopped unexpectedly ({why})")
            await asyncio.wait({watch}, timeout=0.5)
        watch.result()
    finally:
        watch.cancel()
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)


async def _chat_then_stop(channel: ConsoleChannel, stop: asyncio.Event) -> None:
    await channel.serve()
    stop.set()
