"""Opaque button tokens: Telegram sees a random string, never the payload.

callback_data is visible to Telegram and limited to 64 bytes; payloads such
as ``/show_entry{"ref":"legal:dv_fines"}`` say what the user is reading. Tokens
live in memory only; after a restart an old button answers "expired".
"""

from __future__ import annotations

import secrets
from collections import OrderedDict


class CallbackTokens:
    def __init__(self, capacity: int = 50_000):
        self._capacity = capacity
        self._payloads: OrderedDict[str, str] = OrderedDict()

    def issue(self, payload: str) -> str:
        token = secrets.token_urlsafe(12)
        self._payloads[token] = payload
        while len(self._payloads) > self._capacity:
            self._payloads.popitem(last=False)
        return token

    def redeem(self, token: str | None) -> str | None:
        """The payload behind a token, or None if unknown or expired."""
        return self._payloads.get(token or "")
