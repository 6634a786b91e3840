"""Wiring: build the conversation core and its parts from the settings."""

from __future__ import annotations

from bot.config import Settings
from bot.core import ConversationCore
from bot.rasa_client import RasaClient
from bot.safety import SafetyNet
from bot.storage import Database
from common.content import ContentStore
from common.textnorm import load_lexicon


def lexicon_path(settings: Settings):
    return settings.root / "nlu" / "lexicon" / "abbreviations.yml"


def build_core(settings: Settings) -> ConversationCore:
    content = ContentStore(settings.content_dir)
    safety = SafetyNet(content, load_lexicon(lexicon_path(settings)))
    database = Database(settings.database_url)
    database.migrate()
    nlu = RasaClient(settings.rasa_url, settings.channel_secret, settings.rasa_timeout)
    return ConversationCore(nlu, content, safety, database, settings.pseudonym_key)
