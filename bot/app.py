"""Wiring: build the conversation core and its parts from the settings."""

from __future__ import annotations

from bot.config import Settings
from bot.core import ConversationCore
from bot.handlers.telegram import TelegramChannel, TelegramSettings
from bot.handlers.zalo import ZaloChannel, ZaloSettings
from bot.rasa_client import RasaClient
from bot.safety import SafetyNet
from bot.storage import Database, ExitLog
from common.content import ContentStore
from common.textnorm import load_lexicon


def lexicon_path(settings: Settings):
    return settings.root / "nlu" / "lexicon" / "abbreviations.yml"


def build_database(settings: Settings) -> Database:
    database = Database(settings.database_url)
    database.migrate()
    return database


def build_core(settings: Settings, database: Database | None = None) -> ConversationCore:
    content = ContentStore(settings.content_dir)
    safety = SafetyNet(content, load_lexicon(lexicon_path(settings)))
    database = database or build_database(settings)
    nlu = RasaClient(settings.rasa_url, settings.channel_secret, settings.rasa_timeout,
                     api_token=settings.rasa_token)
    return ConversationCore(nlu, content, safety, database, settings.pseudonym_key)


def build_telegram(settings: Settings) -> TelegramChannel | None:
    """The Telegram channel if TELEGRAM_BOT_TOKEN is set, else None."""
    telegram = TelegramSettings.from_env()
    if telegram is None:
        return None
    database = build_database(settings)
    return TelegramChannel(build_core(settings, database), telegram, ExitLog(database))


def build_zalo(settings: Settings) -> ZaloChannel | None:
    """The Zalo channel if it is fully configured (ZALO_* variables), else None."""
    zalo = ZaloSettings.from_env()
    if zalo is None:
        return None
    return ZaloChannel(build_core(settings), zalo, settings.var_dir)
