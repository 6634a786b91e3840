"""The crisis safety net: runs on every message before, and regardless of, Rasa.

It matches editor-maintained phrases (content/crisis.yml) on the folded text,
so "bị đánh", "bi danh" and "bj danh" all trigger. If the content cannot be
loaded at all, embedded phrases and numbers keep the net in place.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import lru_cache

from bot.replies import Reply
from common.content import ContentError, ContentStore, render
from common.textnorm import fold

log = logging.getLogger(__name__)

# Last resort when content/ is unreadable: verified national numbers only.
EMBEDDED_TRIGGERS = {
    "danger_now": ("bi danh", "danh toi", "giet", "cuu toi", "cuu em", "bi nhot", "hiep dam"),
    "self_harm": ("tu tu", "tu sat", "muon chet", "khong muon song"),
}
EMBEDDED_EMERGENCY = Reply(
    "Nếu bạn đang gặp nguy hiểm, hãy gọi ngay 113 (Công an) hoặc 115 (Cấp cứu). "
    "Cả hai số đều miễn phí và trực 24/7."
)
EMERGENCY_MESSAGES = {"danger_now": "crisis_danger", "self_harm": "crisis_self_harm"}


@lru_cache(maxsize=64)
def _whole_words(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """One compiled pattern for a phrase list (cached: the lists change only on an edit)."""
    if not phrases:
        return None
    alternation = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")


class SafetyNet:
    def __init__(self, content: ContentStore, lexicon: Mapping[str, str]):
        self._content = content
        self._lexicon = lexicon

    def _phrases(self) -> tuple[Mapping[str, tuple[str, ...]], tuple[str, ...]]:
        """(triggers by kind, harmless phrases), embedded ones if content is unreadable."""
        try:
            content = self._content.get()
        except ContentError:
            return EMBEDDED_TRIGGERS, ()
        return content.crisis_triggers, content.crisis_harmless

    def assess(self, text: str) -> str | None:
        """The crisis kind the text signals ("danger_now", "self_harm"), or None.

        Self-harm is checked first: its reply also offers a counselor, and it
        carries the same emergency numbers.
        """
        triggers, harmless = self._phrases()
        folded = fold(text, self._lexicon)
        harmless_pattern = _whole_words(tuple(harmless))
        if harmless_pattern is not None:
            folded = harmless_pattern.sub(" ", folded)
        for kind in sorted(triggers, key=lambda k: k != "self_harm"):
            pattern = _whole_words(tuple(triggers[kind]))
            if pattern is not None and pattern.search(folded):
                return kind
        return None

    def emergency_reply(self, kind: str) -> Reply:
        try:
            return render(self._content.get(), EMERGENCY_MESSAGES.get(kind, "crisis_danger"))
        except (ContentError, KeyError):
            log.error("crisis message unavailable: using the embedded emergency reply")
            return EMBEDDED_EMERGENCY
