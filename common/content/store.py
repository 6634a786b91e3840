"""Hot reload: serve the newest valid content, keep the last good one on a broken edit."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from common.content.loader import CONTENT_FILES, load_content
from common.content.model import Content, ContentError

log = logging.getLogger(__name__)


class ContentStore:
    """Reloads when a file's mtime or size changes.

    The swap is a single reference assignment, so a reader sees either the old
    or the new content, never a mix. Files are looked at most once per
    ``check_interval`` seconds: stat-ing ten files on every reply cost about a
    millisecond per turn, and an editor does not notice a one-second delay.
    """

    def __init__(self, directory: Path, check_interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self.directory = directory
        self._interval = check_interval
        self._clock = clock
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        self._signature: tuple = ()
        self._current: Content | None = None
        self.last_error: ContentError | None = None

    def _files_signature(self) -> tuple:
        signature = []
        for name in CONTENT_FILES:
            try:
                stat = (self.directory / name).stat()
                signature.append((name, stat.st_mtime_ns, stat.st_size))
            except FileNotFoundError:
                signature.append((name, None, None))
        return tuple(signature)

    def get(self) -> Content:
        """Current content; raises ``ContentError`` only if no valid content was ever loaded."""
        now = self._clock()
        if self._current is not None and now - self._checked_at < self._interval:
            return self._current
        self._checked_at = now
        signature = self._files_signature()
        if signature != self._signature:
            with self._lock:
                if signature != self._signature:
                    self._reload(signature)
        if self._current is None:
            assert self.last_error is not None
            raise self.last_error
        return self._current

    def _reload(self, signature: tuple) -> None:
        try:
            self._current = load_content(self.directory)
            self.last_error = None
            log.info("content loaded from %s", self.directory.name)
        except ContentError as exc:
            self.last_error = exc
            log.error("content has errors; keeping the last good version:\n%s", exc)
        self._signature = signature
