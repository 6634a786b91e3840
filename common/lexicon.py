"""The abbreviation lexicon as a file that can change while the bot runs (an editor's
change in the workspace): re-read when its mtime or size changes, at most once per
``check_interval`` seconds; a broken file keeps the last good lexicon in service."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from common.textnorm import load_lexicon

log = logging.getLogger(__name__)


class LexiconFile:
    def __init__(self, path: Path, check_interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self.path = path
        self._interval = check_interval
        self._clock = clock
        self._checked_at = float("-inf")
        self._signature: tuple | None = None
        self._current: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self) -> dict[str, str]:
        now = self._clock()
        if now - self._checked_at < self._interval:
            return self._current
        self._checked_at = now
        try:
            stat = self.path.stat()
            signature = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            return self._current
        if signature != self._signature:
            with self._lock:
                self._reload(signature)
        return self._current

    def _reload(self, signature: tuple) -> None:
        try:
            self._current = load_lexicon(self.path)
            self._signature = signature
        except Exception as error:  # a YAML error, a bad mapping, an unreadable file
            log.error("lexicon unreadable (%s): keeping the last good one", type(error).__name__)
            self._signature = signature
