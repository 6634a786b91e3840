"""Chatting with proposed content before it goes live, through the real conversation core
and the real Rasa server and action server.

Each preview session stages a full content directory (the live files with the proposed
ones in their place) under ``var/preview/<token>``. The core reads it for its crisis net
and messages; its conversation with Rasa runs under the sender ``preview-<token>``, for
which the action server reads the same staged directory (actions/content_source.py).
Sessions end after ``IDLE_S`` without a message, or when the editor closes the panel:
the staged files and Rasa's conversation are deleted then.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.core import ConversationCore, IncomingMessage
from bot.editorial.checks import stage_content
from bot.editorial.lexicon import FILE as LEXICON
from bot.handlers.zalo import pick_option, zalo_text
from bot.rasa_client import RasaClient
from bot.replies import Reply
from bot.safety import SafetyNet
from common.content import ContentStore
from common.textnorm import parse_lexicon

PREFIX = "preview-"
TOKEN = re.compile(r"^[0-9a-f]{32}$")
IDLE_S = 30 * 60
MAX_SESSIONS = 20


class PreviewCore(ConversationCore):
    """The core, keyed to the preview session instead of a person's pseudonym."""

    def pseudonym(self, channel: str, user_id: str) -> str:
        return f"{PREFIX}{user_id}"


@dataclass
class _Session:
    token: str
    content: ContentStore
    core: PreviewCore
    files: dict[str, str]
    used: float
    options: list[str] = field(default_factory=list)  # Zalo's numbered options shown last


class Previewer:
    def __init__(self, live_dir: Path, stage_root: Path, nlu: RasaClient,
                 lexicon: Callable[[], Mapping[str, str]],
                 clock: Callable[[], float] = time.monotonic):
        self._live = live_dir
        self._root = stage_root
        self._nlu = nlu
        self._lexicon = lexicon  # the live abbreviations, unless a proposal changes them
        self._clock = clock
        self._sessions: dict[str, _Session] = {}
        self._sweep()

    def _sweep(self) -> None:
        """Staged sessions idle for longer than ``IDLE_S`` (a run that stopped with previews
        open); another process's live sessions are younger and stay."""
        now = time.time()
        for stage in self._root.glob("*") if self._root.is_dir() else ():
            if TOKEN.match(stage.name) and now - stage.stat().st_mtime > IDLE_S:
                shutil.rmtree(stage, ignore_errors=True)

    def open(self, proposed: Mapping[str, str]) -> str:
        self._expire()
        while len(self._sessions) >= MAX_SESSIONS:
            oldest = min(self._sessions.values(), key=lambda s: s.used)
            self._drop(oldest.token)
        token = secrets.token_hex(16)
        stage = self._root / token
        stage_content(self._live, proposed, stage)
        content = ContentStore(stage, check_interval=0.0)
        core = PreviewCore(self._nlu, content, self._net(content, proposed), None, "preview")
        self._sessions[token] = _Session(token, content, core, dict(proposed), self._clock())
        return token

    def update(self, token: str, proposed: Mapping[str, str]) -> None:
        """The editor changed the form: the same conversation goes on with the new text."""
        session = self._session(token)
        if dict(proposed) != session.files:
            stage_content(self._live, proposed, self._root / token)
            if LEXICON in proposed or LEXICON in session.files:
                session.core = PreviewCore(self._nlu, session.content,
                                           self._net(session.content, proposed), None, "preview")
            session.files = dict(proposed)

    def _net(self, content: ContentStore, proposed: Mapping[str, str]) -> SafetyNet:
        """The crisis net reads a proposed lexicon at once (the model only after a retrain)."""
        if LEXICON not in proposed:
            return SafetyNet(content, self._lexicon)
        try:
            return SafetyNet(content, parse_lexicon(proposed[LEXICON]))
        except (yaml.YAMLError, ValueError):  # refused before it gets here; kept safe anyway
            return SafetyNet(content, self._lexicon)

    async def say(self, token: str, text: str) -> dict:
        session = self._session(token)
        session.used = self._clock()
        typed = pick_option(text, session.options)
        sent: list[Reply] = []

        async def early(reply: Reply) -> None:
            sent.append(reply)

        result = await session.core.handle(IncomingMessage("preview", token, typed), early)
        replies = [*sent, *result.replies]
        session.options = []
        zalo = [zalo_text(r, session.options) for r in replies]
        return {"entries": list(result.entries), "intent": result.intent,
                "crisis": result.crisis, "degraded": result.degraded,
                "telegram": [{"text": r.text, "buttons": [{"title": b.title,
                                                            "payload": b.payload}
                                                           for b in r.buttons]}
                             for r in replies],
                "zalo": zalo}

    async def close(self, token: str) -> None:
        if token in self._sessions:
            await self._nlu.forget(f"{PREFIX}{token}")
            self._drop(token)

    async def close_all(self) -> None:
        for token in list(self._sessions):
            await self.close(token)

    def _session(self, token: str) -> _Session:
        self._expire()
        session = self._sessions.get(token) if TOKEN.match(token or "") else None
        if session is None:
            raise KeyError(token)
        return session

    def _expire(self) -> None:
        now = self._clock()
        for token in [t for t, s in self._sessions.items() if now - s.used > IDLE_S]:
            self._drop(token)
            asyncio.ensure_future(self._nlu.forget(f"{PREFIX}{token}"))

    def _drop(self, token: str) -> None:
        self._sessions.pop(token, None)
        shutil.rmtree(self._root / token, ignore_errors=True)
