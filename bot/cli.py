"""The `antam` command: up, chat, train, content check."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import signal
import sys
import uuid
from pathlib import Path

from bot import nlu_eval
from bot.app import (
    build_core,
    build_database,
    build_escalation,
    build_readiness,
    build_telegram,
    build_zalo,
    server_keys,
)
from bot.config import Settings
from bot.counselor import cli as counselor_cli
from bot.escalation.crypto import PublicIdentity, b64e
from bot.escalation.hub import EscalationHub
from bot.handlers.console import ConsoleChannel
from bot.ops.logs import formatter as log_formatter
from bot.rasa_client import NluUnavailable, RasaClient
from bot.rasa_runtime import action_server_command, rasa_env, rasa_server_command
from bot.secretfile import MissingSecret
from bot.stack import private_stack
from bot.storage import Database
from bot.supervisor import Service, ServiceFailed, Supervisor
from bot.training import MODEL_NAME, train
from common.content import ContentError, load_content

log = logging.getLogger("antam")


def _configure_logging(level: str, log_file: Path | None, fmt: str = "plain") -> None:
    """Log to stderr, or to a file when a person is chatting in this terminal; as plain
    lines or, with ANTAM_LOG_FORMAT=json, one JSON object per line."""
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file)
    handler.setFormatter(log_formatter(fmt))
    logging.basicConfig(level=level, handlers=[handler])
    # httpx logs every request URL at INFO; they carry no text but drown the log.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _services(settings: Settings) -> list[Service]:
    env = rasa_env(settings)
    return [
        Service("actions", action_server_command(settings),
                health_url=f"http://127.0.0.1:{settings.actions_port}/health",
                listen=settings.actions_url, env=env, cwd=settings.root),
        Service("rasa", rasa_server_command(settings),
                health_url=f"{settings.rasa_url}/status?token={settings.rasa_token}",
                listen=f"{settings.rasa_url} (HTTP API needs the token; "
                       "/webhooks/antam needs the channel secret)",
                env=env, cwd=settings.root),
    ]


async def _warm_up(settings: Settings) -> None:
    """One throwaway turn so the first real user does not pay for model warm-up."""
    client = RasaClient(settings.rasa_url, settings.channel_secret, timeout=60)
    with contextlib.suppress(NluUnavailable):
        await client.send(f"warmup-{uuid.uuid4().hex}", "xin chào")
    await client.close()


async def _until_stopped(stop: asyncio.Event, work) -> bool:
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


async def _up(settings: Settings, chat: bool, startup_timeout: float) -> int:
    keys = server_keys(settings)  # before anything starts: production refuses missing ones
    if not (settings.model_dir / MODEL_NAME).exists():
        print(f"no trained model in {settings.model_dir}: run `make train`", file=sys.stderr)
        return 1
    supervisor = Supervisor(_services(settings), settings.var_dir / "log")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    supervisor.start()
    try:
        if not await _until_stopped(stop, supervisor.wait_healthy(startup_timeout)):
            return 0
        await _warm_up(settings)
        database = build_database(settings)
        hub = build_escalation(settings, database, keys)
        channels = _start_channels(settings, database, hub)
        print("ready", flush=True)
        if chat:
            channel = ConsoleChannel(build_core(settings, database, hub))
            await _until_stopped(stop, _chat_then_stop(channel, stop))
        await _until_stopped(stop, _watch_all(supervisor, channels, stop))
        return 0
    except ServiceFailed as failure:
        print(f"error: {failure}", file=sys.stderr, flush=True)
        return 1
    finally:
        supervisor.stop()
        print("stopped", file=sys.stderr, flush=True)


def _start_channels(settings: Settings, database: Database,
                    hub: EscalationHub) -> dict[str, asyncio.Task]:
    """Messenger channels that are configured, and the counselors' API, each as a task."""
    from bot.ops.http import ops_handlers
    from bot.ops.metrics import Metrics
    from bot.workspace.server import serve_workspace  # tornado app; imported when serving

    port = hub.service.policy.api_port
    metrics = Metrics()
    readiness = build_readiness(settings, database, hub, metrics)
    print(f"console: http://127.0.0.1:{port}/", flush=True)
    print(f"counselor API: http://127.0.0.1:{port}/api/v1 (put TLS in front)", flush=True)
    print(f"health: http://127.0.0.1:{port}/healthz, /readyz, /metrics", flush=True)
    key = hub.service.cases.signing_key
    print(f"server signing key: {b64e(key)} (fingerprint "
          f"{PublicIdentity(b'', key).fingerprint()})", flush=True)
    tasks = {"counselor workspace": asyncio.create_task(
                 serve_workspace(hub, port, extra=ops_handlers(readiness))),
             "escalation timers": asyncio.create_task(hub.run_timers())}
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


async def _watch_all(supervisor: Supervisor, channels: dict[str, asyncio.Task],
                     stop: asyncio.Event) -> None:
    """Watch the services and the channels; a channel that ends is a failure too."""
    watch = asyncio.ensure_future(supervisor.watch(stop))
    try:
        while not watch.done():
            for name, task in channels.items():
                if task.done():
                    error = task.exception() if not task.cancelled() else None
                    why = type(error).__name__ if error else "it ended"
                    raise ServiceFailed(f"channel '{name}' stopped unexpectedly ({why})")
            await asyncio.wait({watch}, timeout=0.5)
        watch.result()
    finally:
        watch.cancel()
        for task in channels.values():
            task.cancel()
        await asyncio.gather(*channels.values(), return_exceptions=True)


async def _chat_then_stop(channel: ConsoleChannel, stop: asyncio.Event) -> None:
    await channel.serve()
    stop.set()


async def _chat(settings: Settings, jsonl: bool) -> int:
    database = build_database(settings)
    core = build_core(settings, database, build_escalation(settings, database))
    await ConsoleChannel(core, jsonl=jsonl).serve()
    return 0


def _content_check(settings: Settings) -> int:
    try:
        content = load_content(settings.content_dir)
    except ContentError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    for warning in content.stale_facts(dt.date.today()):
        print(f"warning: {warning}", file=sys.stderr)
    hidden = sum(not e.fact.verified for t in (content.legal, content.guides, content.quiz,
                                               content.explainers) for e in t.values())
    print(f"content OK: {len(content.contacts)} contacts, {len(content.legal)} legal facts, "
          f"{len(content.guides)} guides, {len(content.explainers)} explainers, "
          f"{len(content.quiz)} quiz questions, {len(content.messages)} messages, "
          f"{len(content.menus)} menus; {hidden} unverified entries hidden from users")
    return 0


def _evaluate(settings: Settings, cross_validation: bool, json_path: Path | None) -> int:
    sets = settings.root / "tests" / "nlu_eval"
    examples = nlu_eval.load_heldout(sets / "heldout.yml")
    cases = nlu_eval.load_cases(sets / "conversations.yml")
    precision = {p.stem: nlu_eval.load_precision(p) for p in sorted(sets.glob("precision*.yml"))}
    with private_stack() as (env, _):
        figures = {"heldout": nlu_eval.report(nlu_eval.run_examples(examples, env)),
                   "conversations": nlu_eval.conversation_report(
                       nlu_eval.run_conversations(cases, env)),
                   **{name: nlu_eval.run_precision(items, env)
                      for name, items in precision.items()}}
    print(nlu_eval.format_report(figures["heldout"]), end="\n\n")
    print(nlu_eval.format_conversations(figures["conversations"]), end="\n\n")
    for name in precision:
        print(nlu_eval.format_precision(name, figures[name]), end="\n\n")
    if json_path:
        json_path.write_text(json.dumps(figures, ensure_ascii=False, indent=1))
    if cross_validation:
        print("5-fold cross-validation on the training data:")
        print(nlu_eval.cross_validate(settings))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="antam", description="An Tâm chatbot")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start Rasa, the action server and the channels")
    up.add_argument("--chat", action="store_true", help="also chat here in the terminal")
    up.add_argument("--startup-timeout", type=float,
                    default=float(os.environ.get("ANTAM_STARTUP_TIMEOUT", "300")))
    chat = commands.add_parser("chat", help="console chat with the running services")
    chat.add_argument("--jsonl", action="store_true", help="one JSON object per line")
    train_cmd = commands.add_parser("train", help="train the model if its inputs changed")
    train_cmd.add_argument("--force", action="store_true")
    evaluate = commands.add_parser(
        "eval", help="held-out messages, conversations and precision sets through the stack")
    evaluate.add_argument("--cross-validation", action="store_true",
                          help="also run Rasa's 5-fold cross-validation (slow)")
    evaluate.add_argument("--json", type=Path, help="also write the figures here")
    content = commands.add_parser("content", help="content tools")
    content.add_argument("action", choices=["check"])
    keys = commands.add_parser("keys", help="data-encryption key tools")
    keys.add_argument("action", choices=["rotate"],
                      help="re-wrap every data key under the first key of ANTAM_DATA_KEYS")
    commands.add_parser("indicators", help="escalation outcomes for the programme (counts only)")
    counselor_cli.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Everything antam writes (database, logs, keys, the counselor's key files) is for its
    # owner only: files 0600, directories 0700.
    os.umask(0o077)
    args = _parser().parse_args(argv)
    if args.command in ("counselor", "admin"):  # runs on staff machines: no server settings
        return counselor_cli.run(args)
    try:
        return _server_command(args)
    except MissingSecret as missing:
        print(f"error: {missing}", file=sys.stderr)
        return 1


def _server_command(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    interactive = (args.command == "up" and args.chat) or (
        args.command == "chat" and not args.jsonl)
    _configure_logging(settings.log_level,
                       settings.var_dir / "log" / "antam.log" if interactive else None,
                       settings.log_format)
    if args.command == "up":
        return asyncio.run(_up(settings, args.chat, args.startup_timeout))
    if args.command == "chat":
        with contextlib.suppress(KeyboardInterrupt):
            return asyncio.run(_chat(settings, args.jsonl))
        return 0
    if args.command == "train":
        train(settings, force=args.force)
        return 0
    if args.command == "eval":
        return _evaluate(settings, args.cross_validation, args.json)
    if args.command in ("keys", "indicators"):
        service = build_escalation(settings, build_database(settings)).service
        if args.command == "keys":
            print(f"re-wrapped {service.vault.rotate()} data keys")
        else:
            print(json.dumps({name: suppress_small(counts) for name, counts
                              in service.indicators.summary().items()}, indent=1))
        return 0
    return _content_check(settings)


SMALL_CELL = 10  # counts under this are reported as "<10": a small count can identify someone


def suppress_small(counts: dict[str, int]) -> dict[str, int | str]:
    return {k: (v if v >= SMALL_CELL else f"<{SMALL_CELL}") for k, v in sorted(counts.items())}


if __name__ == "__main__":
    sys.exit(main())
