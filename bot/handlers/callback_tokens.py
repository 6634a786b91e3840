"""Opaque button tokens: Telegram sees a token, never the payload.

callback_data is visible to Telegram and limited to 64 bytes; payloads such
as ``/show_entry{"ref":"legal:dv_fines"}`` say what the user is reading. A token is a
keyed hash of its payload, so every worker issues the same token for the same button.
With a database, each new payload is written before its button goes out, so a button one
worker sent is answered by whichever worker receives the press, and old buttons keep
working after a restart. Without one (unit tests), tokens live in this process only.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
from collections import OrderedDict

from sqlalchemy.exc import IntegrityError

from bot.storage.database import Database
from bot.storage.models import ButtonPayload

log = logging.getLogger(__name__)
MAX_PAYLOAD = 512


class CallbackTokens:
    def __init__(self, key: str | None = None, database: Database | None = None,
                 capacity: int = 50_000):
        self._key = hashlib.sha256(b"antam buttons\0" + key.encode()).digest() if key else None
        self._db = database
        self._capacity = capacity
        self._payloads: OrderedDict[str, str] = OrderedDict()
        self._unsaved: dict[str, str] = {}

    def issue(self, payload: str) -> str:
        if self._key is None:
            token = secrets.token_urlsafe(12)
        else:
            digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:16]
            token = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        if token not in self._payloads and self._db is not None:
            self._unsaved[token] = payload
        self._remember(token, payload)
        return token

    async def save(self) -> None:
        """Write the payloads issued since the last call (before their buttons are sent)."""
        if not self._unsaved:
            return
        pending, self._unsaved = self._unsaved, {}
        await asyncio.to_thread(self._insert, pending)

    async def redeem(self, token: str | None) -> str | None:
        """The payload behind a token, or None if unknown or expired."""
        payload = self._payloads.get(token or "")
        if payload is None and token and self._db is not None:
            payload = await asyncio.to_thread(self._lookup, token)
            if payload is not None:
                self._remember(token, payload)
        return payload

    def _remember(self, token: str, payload: str) -> None:
        self._payloads[token] = payload
        while len(self._payloads) > self._capacity:
            self._payloads.popitem(last=False)

    def _insert(self, pending: dict[str, str]) -> None:
        for token, payload in pending.items():
            if len(payload) > MAX_PAYLOAD:
                log.warning("a button payload is too long to share between workers")
                continue
            try:
                with self._db.session() as session, session.begin():
                    if session.get(ButtonPayload, token) is None:
                        session.add(ButtonPayload(token=token, payload=payload))
            except IntegrityError:  # another worker wrote the same button just now
                pass

    def _lookup(self, token: str) -> str | None:
        with self._db.session() as session:
            row = session.get(ButtonPayload, token[:32])
            return row.payload if row else None
