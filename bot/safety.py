"""The crisis safety net: runs on every message before, and regardless of, Rasa.

It matches editor-maintained phrases (content/crisis.yml) on the folded text,
so "bị đánh", "bi danh" and "bj danh" all trigger. If the content cannot be
loaded at all, embedded phrases and numbers keep the net in place.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from bot.replies import Button, Reply
from common.content import ContentError, ContentStore
from common.textnorm import fold

log = logging.getLogger(__name__)

CRISIS_INTENTS = frozenset({"danger_now", "self_harm"})

# Last resort when content/ is unreadable: verified national numbers only.
EMBEDDED_TRIGGERS = {
    "danger_now": ("bi danh", "danh toi", "giet", "cuu toi", "cuu em", "bi nhot", "hiep dam"),
    "self_harm": ("tu tu", "tu sat", "muon chet", "khong muon song"),
}
EMBEDDED_EMERGENCY = Reply(
    "Nếu bạn đang gặp nguy hiểm, hãy gọi ngay 113 (Công an) hoặc 115 (Cấp cứu). "
    "Cả hai số đều miễn phí và trực 24/7."
)


def _matches(folded: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", folded) is not None


class SafetyNet:
    def __init__(self, content: ContentStore, lexicon: Mapping[str, str]):
        self._content = content
        self._lexicon = lexicon

    def _triggers(self) -> Mapping[str, tuple[str, ...]]:
        try:
            return self._content.get().crisis_triggers
        except ContentError:
            return EMBEDDED_TRIGGERS

    def assess(self, text: str) -> str | None:
        """The crisis kind the text signals ("danger_now", "self_harm"), or None."""
        folded = fold(text, self._lexicon)
        for kind, phrases in self._triggers().items():
            if any(_matches(folded, phrase) for phrase in phrases):
                return kind
        return None

    def emergency_reply(self) -> Reply:
        try:
            text, buttons = self._content.get().render("crisis")
        except (ContentError, KeyError):
            log.error("crisis message unavailable: using the embedded emergency reply")
            return EMBEDDED_EMERGENCY
        return Reply(text, tuple(Button(b.title, b.payload) for b in buttons))
