"""Zalo Official Account API client: send messages, refresh the access token.

Zalo's refresh tokens are single-use and access tokens last about 25 hours,
so a refresh happens under a lock (one refresh for many waiting senders) and
the new refresh token is saved at once (var/, mode 0600), or it is lost. Several
bot workers share the tokens in the database instead (bot/handlers/zalo_tokens.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

log = logging.getLogger(__name__)
INVALID_TOKEN_CODES = frozenset({-216, -124})  # access token invalid or expired


class ZaloError(Exception):
    """Zalo refused a call; the message carries Zalo's error code only."""


@dataclass
class Tokens:
    access: str
    refresh: str


class TokenKeeper(Protocol):
    """Where the tokens live: a file for one process, the database for several workers."""

    def load(self) -> Tokens: ...

    def save(self, tokens: Tokens) -> None: ...

    def exclusive(self) -> AbstractAsyncContextManager[Tokens]: ...


class TokenStore:
    """Tokens in a 0600 file under var/, seeded from the environment."""

    def __init__(self, path: Path, initial: Tokens):
        self._path = path
        self._initial = initial

    def load(self) -> Tokens:
        if self._path.exists():
            data = json.loads(self._path.read_text())
            return Tokens(data["access"], data["refresh"])
        return self._initial

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[Tokens]:
        """The current tokens, for a refresh (one process: its own lock is enough)."""
        yield self.load()

    def save(self, tokens: Tokens) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"access": tokens.access, "refresh": tokens.refresh}, handle)
        tmp.replace(self._path)  # atomic: never half a refresh token on disk


class ZaloClient:
    def __init__(self, api_base: str, oauth_base: str, app_id: str, app_secret: str,
                 store: TokenKeeper, timeout: float = 10.0):
        self._api, self._oauth = api_base.rstrip("/"), oauth_base.rstrip("/")
        self._app_id, self._app_secret = app_id, app_secret
        self._store = store
        self._tokens = store.load()
        self._lock = asyncio.Lock()
        self._http = httpx.AsyncClient(timeout=timeout)

    async def send_text(self, user_id: str, text: str) -> None:
        """Send, refreshing the token once if Zalo says it expired."""
        token = self._tokens.access
        code = await self._post_message(token, user_id, text)
        if code in INVALID_TOKEN_CODES:
            await self._refresh(stale=token)
            code = await self._post_message(self._tokens.access, user_id, text)
        if code != 0:
            raise ZaloError(f"send failed with Zalo error {code}")

    async def _post_message(self, token: str, user_id: str, text: str) -> int:
        response = await self._http.post(
            f"{self._api}/v3.0/oa/message/cs", headers={"access_token": token},
            json={"recipient": {"user_id": user_id}, "message": {"text": text}})
        response.raise_for_status()
        return int(response.json().get("error", 0))

    async def _refresh(self, stale: str) -> None:
        async with self._lock, self._store.exclusive() as current:
            if current.access != stale:  # another sender or worker refreshed meanwhile
                self._tokens = current
                return
            response = await self._http.post(
                f"{self._oauth}/v4/oa/access_token", headers={"secret_key": self._app_secret},
                data={"app_id": self._app_id, "grant_type": "refresh_token",
                      "refresh_token": current.refresh})
            body = response.json()
            if "access_token" not in body:
                raise ZaloError(f"token refresh failed with Zalo error {body.get('error')}")
            self._tokens = Tokens(body["access_token"], body["refresh_token"])
            self._store.save(self._tokens)
            log.info("zalo access token refreshed")

    async def close(self) -> None:
        await self._http.aclose()
