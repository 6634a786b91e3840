"""The `antam` command: up (bot/up.py), chat, train, eval, content check, keys."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import sys
from pathlib import Path

from bot import nlu_eval
from bot.app import build_core, build_database, build_escalation
from bot.config import Settings
from bot.counselor import cli as counselor_cli
from bot.handlers.console import ConsoleChannel
from bot.indicators import cli as report_cli
from bot.indicators.disclosure import protect
from bot.ops.logs import formatter as log_formatter
from bot.secretfile import MissingSecret
from bot.stack import private_stack
from bot.training import train
from bot.up import ROLES, ConfigurationError, up
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
    start = commands.add_parser("up", help="start Rasa, the action server and the channels")
    start.add_argument("--chat", action="store_true", help="also chat here in the terminal")
    start.add_argument("--role", choices=ROLES, default="all",
                    help="run one part only, so that each can run as several processes")
    start.add_argument("--startup-timeout", type=float,
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
    report_cli.add_parser(commands)
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
        try:
            return asyncio.run(up(settings, args.chat, args.startup_timeout, args.role))
        except ConfigurationError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    if args.command == "chat":
        with contextlib.suppress(KeyboardInterrupt):
            return asyncio.run(_chat(settings, args.jsonl))
        return 0
    if args.command == "train":
        train(settings, force=args.force)
        return 0
    if args.command == "eval":
        return _evaluate(settings, args.cross_validation, args.json)
    if args.command == "report":
        return report_cli.run(build_database(settings), args.month,
                              args.out or settings.var_dir / "reports", dt.date.today())
    if args.command in ("keys", "indicators"):
        service = build_escalation(settings, build_database(settings)).service
        if args.command == "keys":
            print(f"re-wrapped {service.vault.rotate()} data keys")
        else:
            print(json.dumps(protected_requests(service.indicators), ensure_ascii=False,
                             indent=1))
        return 0
    return _content_check(settings)


def protected_requests(indicators) -> dict:
    """Requests by risk and status under disclosure control (bot/indicators/): no count
    below 10 is shown or can be worked out. Outcomes are in `antam report`."""
    risks, statuses, counts = indicators.by_risk_and_status()
    if not risks:
        return {"requests": None}
    grid = protect(risks, statuses, counts).grid()
    return {"requests": {"columns": [*statuses, "total"],
                         "rows": dict(zip([*risks, "total"], grid, strict=True))}}


if __name__ == "__main__":
    sys.exit(main())
