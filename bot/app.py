"""Wiring: build the conversation core and its parts from the settings."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os

from bot.config import Settings
from bot.core import ConversationCore
from bot.editorial.api import Editorial
from bot.editorial.desk import EditorialDesk
from bot.editorial.preview import Previewer
from bot.editorial.retrain import Retrainer, rasa_loader
from bot.escalation.desk import CounselorDesk
from bot.escalation.desk_memory import DeskMemory
from bot.escalation.events import EventBus
from bot.escalation.hub import EscalationHub
from bot.escalation.outbox import Outbox
from bot.escalation.outbox_store import OutboxStore
from bot.escalation.policy import (
    EscalationPolicy,
    admin_keys_from_env,
    data_keyring,
    session_key,
    signing_key,
)
from bot.escalation.service import ServerKeys, build_service
from bot.handlers.callback_tokens import CallbackTokens
from bot.handlers.telegram import TelegramChannel, TelegramSettings
from bot.handlers.zalo import ZaloChannel, ZaloSettings, initial_tokens
from bot.handlers.zalo_tokens import SharedTokenStore
from bot.ops.checks import database_check, http_check
from bot.ops.http import Part, Readiness
from bot.ops.metrics import Metrics
from bot.rasa_client import RasaClient
from bot.rasa_runtime import rasa_env, train_command
from bot.replies import Reply
from bot.safety import EMBEDDED_EMERGENCY, SafetyNet
from bot.storage import Database, ExitLog
from bot.storage.notify import PgNotifier, notifier_for
from bot.storage.seen import SeenEvents
from bot.storage.user_memory import LocalUserMemory, SealedUserMemory, UserMemory
from common.content import ContentError, ContentStore, render
from common.lexicon import LexiconFile

log = logging.getLogger(__name__)


def instance_name(base: str, index: int, count: int) -> str:
    """"rasa" when there is one instance; "rasa-1", "rasa-2", ... when there are several."""
    return base if count == 1 else f"{base}-{index + 1}"


def lexicon_path(settings: Settings):
    return settings.root / "nlu" / "lexicon" / "abbreviations.yml"


def build_database(settings: Settings) -> Database:
    database = Database(settings.database_url)
    database.migrate()
    database.make_private()
    return database


def server_keys(settings: Settings) -> ServerKeys:
    """The server's secrets: from the environment (generated into var/ outside production)."""
    return ServerKeys(data_keyring(settings.var_dir), signing_key(settings.var_dir),
                      session_key(settings.var_dir))


def build_escalation(settings: Settings, database: Database,
                     keys: ServerKeys | None = None) -> EscalationHub:
    """Cases sealed to approved counselors; one hub per process, shared by every channel."""
    content = ContentStore(settings.content_dir)

    def message(key: str) -> Reply:
        try:
            return render(content.get(), key)
        except (ContentError, KeyError):
            log.error("message %r unavailable: using the embedded emergency reply", key)
            return EMBEDDED_EMERGENCY

    keys = keys or server_keys(settings)
    service = build_service(database, keys, admin_keys_from_env(), EscalationPolicy.from_env())
    signals = notifier_for(database.url)  # LISTEN/NOTIFY between processes on PostgreSQL
    outbox = Outbox(OutboxStore(database, keys.data), signals)
    shared = signals if isinstance(signals, PgNotifier) else None
    hub = EscalationHub(service, outbox, message, content, EventBus(shared))
    hub.signals = signals
    hub.desk_memory = DeskMemory(user_memory(database, keys, "desk"))
    return hub


def user_memory(database: Database, keys: ServerKeys, namespace: str) -> UserMemory:
    """Where a process remembers users between messages: sealed rows on PostgreSQL, where
    several workers may share the work, else this process's memory."""
    if database.url.startswith("postgresql"):
        return SealedUserMemory(database, keys.data, namespace)
    return LocalUserMemory()


def build_readiness(settings: Settings, database: Database, hub: EscalationHub,
                    metrics: Metrics) -> Readiness:
    """What /readyz checks in the bot process: the database is required; without Rasa
    or the action server the bot still answers (degraded), so they are only reported."""
    parts = [Part("database", database_check(database), required=True)]
    count = len(settings.rasa_urls)
    for i, url in enumerate(settings.rasa_urls):
        parts.append(Part(instance_name("rasa", i, count),
                          http_check(f"{url}/status?token={settings.rasa_token}"),
                          required=False))
    if not settings.rasa_urls_override:  # action servers on other hosts report there
        for i in range(count):
            port = settings.actions_port_of(i)
            parts.append(Part(instance_name("actions", i, count),
                              http_check(f"http://127.0.0.1:{port}/health"), required=False))

    async def queue() -> None:
        waiting, oldest_s = await asyncio.to_thread(hub.service.cases.waiting_summary)
        metrics.waiting_cases.set(waiting)
        metrics.oldest_wait.set(oldest_s)
        metrics.outbox_depth.set(await hub.outbox.depth())
    return Readiness(parts, metrics, refresh=queue)


def build_core(settings: Settings, database: Database | None = None,
               hub: EscalationHub | None = None,
               metrics: Metrics | None = None) -> ConversationCore:
    content = ContentStore(settings.content_dir)
    safety = SafetyNet(content, LexiconFile(lexicon_path(settings)).get)
    database = database or build_database(settings)
    nlu = RasaClient(settings.rasa_urls, settings.channel_secret, settings.rasa_timeout,
                     api_token=settings.rasa_token)
    desk = CounselorDesk(hub, nlu.transcript, hub.desk_memory) if hub is not None else None
    if metrics is not None:
        metrics.watch_rasa(lambda: nlu.in_flight, lambda: nlu.waiting)
    return ConversationCore(nlu, content, safety, database, settings.pseudonym_key, desk,
                            metrics=metrics)


def build_editorial(settings: Settings, database: Database) -> Editorial:
    """The editors' desk, with a preview through this deployment's Rasa, and retraining."""
    lexicon = LexiconFile(lexicon_path(settings))
    nlu = RasaClient(settings.rasa_urls, settings.channel_secret, settings.rasa_timeout,
                     api_token=settings.rasa_token)
    desk = EditorialDesk(database, settings.content_dir, dt.datetime.utcnow,
                         self_publish=os.environ.get("ANTAM_EDITOR_SELF_PUBLISH", "") == "1",
                         lexicon=lexicon_path(settings))
    previewer = Previewer(settings.content_dir, settings.var_dir / "preview", nlu,
                          lexicon.get)
    retrainer = Retrainer(settings.root, settings.model_dir,
                          lambda out: train_command(settings, out), rasa_env(settings),
                          rasa_loader(settings.rasa_urls, settings.rasa_token))
    return Editorial(desk, previewer, retrainer)


def build_telegram(settings: Settings, database: Database | None = None,
                   hub: EscalationHub | None = None,
                   metrics: Metrics | None = None) -> TelegramChannel | None:
    """The Telegram channel if TELEGRAM_BOT_TOKEN is set, else None."""
    telegram = TelegramSettings.from_env()
    if telegram is None:
        return None
    database = database or build_database(settings)
    seen = SeenEvents(database, dt.timedelta(days=1))  # Telegram redelivers for up to a day
    tokens = CallbackTokens(settings.pseudonym_key, database)
    return TelegramChannel(build_core(settings, database, hub, metrics), telegram,
                           ExitLog(database), seen=seen, tokens=tokens)


def build_zalo(settings: Settings, database: Database | None = None,
               hub: EscalationHub | None = None,
               metrics: Metrics | None = None) -> ZaloChannel | None:
    """The Zalo channel if it is fully configured (ZALO_* variables), else None."""
    zalo = ZaloSettings.from_env()
    if zalo is None:
        return None
    database = database or build_database(settings)
    seen = SeenEvents(database, dt.timedelta(seconds=2 * zalo.max_skew_s))
    keys = server_keys(settings)
    options = user_memory(database, keys, "zalo-options")
    tokens = None  # one process: a file under var/
    if database.url.startswith("postgresql"):  # workers share one refresh token
        tokens = SharedTokenStore(database, keys.data, initial_tokens(zalo))
    return ZaloChannel(build_core(settings, database, hub, metrics), zalo, settings.var_dir,
                       seen, options, tokens)
