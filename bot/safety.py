"""The crisis safety net: runs on every message before, and regardless of, Rasa.

It matches editor-maintained phrases (content/crisis.yml) word by word with
common.phrasematch: "bị đánh", "bi danh" and "bj danh" all trigger, while "bí danh"
(a pen name) and "đang dành tiền" (saving money) do not. A match typed without
diacritics, or of a phrase also used lightly, is uncertain: the core lets a
confident language model overrule it (bot/core.py). If the content cannot be
loaded at all, embedded phrases and numbers keep the net in place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.replies import Reply
from common.content import ContentError, ContentStore, render
from common.phrasematch import Phrase, PhraseMatcher

log = logging.getLogger(__name__)

# Last resort when content/ is unreadable: verified national numbers only.
EMBEDDED_MATCHER = PhraseMatcher({
    "danger_now": tuple(map(Phrase.of, (
        "bị đánh", "đánh tôi", "giết tôi", "giết em", "cứu tôi", "cứu em", "bị nhốt",
        "hiếp dâm", "bóp cổ", "cầm dao"))),
    "self_harm": tuple(map(Phrase.of, (
        "tự tử", "tự sát", "muốn chết", "không muốn sống"))),
})
EMBEDDED_EMERGENCY = Reply(
    "Nếu bạn đang gặp nguy hiểm, hãy gọi ngay 113 (Công an) hoặc 115 (Cấp cứu). "
    "Cả hai số đều miễn phí và trực 24/7."
)
EMERGENCY_MESSAGES = {"danger_now": "crisis_danger", "self_harm": "crisis_self_harm"}


def emergency_entry(kind: str) -> str:
    """The content entry the emergency reply for ``kind`` shows."""
    return f"message:{EMERGENCY_MESSAGES.get(kind, 'crisis_danger')}"


@dataclass(frozen=True)
class Signal:
    """What the net found: the crisis kind, and whether the match is certain."""

    kind: str
    certain: bool


class SafetyNet:
    def __init__(self, content: ContentStore,
                 lexicon: Mapping[str, str] | Callable[[], Mapping[str, str]]):
        """``lexicon``: the abbreviations, or where to get the current ones (an editor can
        change them while the bot runs: common/lexicon.py)."""
        self._content = content
        self._lexicon = lexicon if callable(lexicon) else (lambda: lexicon)

    def _matcher(self) -> PhraseMatcher:
        try:
            return self._content.get().crisis
        except ContentError:
            return EMBEDDED_MATCHER

    def assess(self, text: str) -> Signal | None:
        """The crisis the text signals, or None.

        Certain matches outrank uncertain ones; self-harm wins between kinds: its
        reply also offers a counselor, and it carries the same emergency numbers.
        """
        hits = self._matcher().hits(text, self._lexicon())
        if not hits:
            return None
        certain = [h for h in hits if h.certain]
        kinds = {h.kind for h in certain or hits}
        first = next((k for k in ("self_harm", "danger_now") if k in kinds), None)
        return Signal(first or min(kinds), bool(certain))

    def emergency_reply(self, kind: str) -> Reply:
        try:
            return render(self._content.get(), EMERGENCY_MESSAGES.get(kind, "crisis_danger"))
        except (ContentError, KeyError):
            log.error("crisis message unavailable: using the embedded emergency reply")
            return EMBEDDED_EMERGENCY
