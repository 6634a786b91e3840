"""Pseudonymous user ids: no platform id is ever stored or sent to Rasa.

HMAC-SHA256 keyed with a secret that lives outside the database. An unkeyed
hash would be useless: Telegram ids have ~52 bits and can be enumerated.
The version prefix lets the key be rotated later.
"""

from __future__ import annotations

import hashlib
import hmac

VERSION = "p1"


def pseudonymise(key: str, channel: str, platform_id: str) -> str:
    mac = hmac.new(key.encode(), f"{channel}:{platform_id}".encode(), hashlib.sha256)
    return f"{VERSION}_{mac.hexdigest()}"
