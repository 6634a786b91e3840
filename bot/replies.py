"""Channel-neutral reply types: what the core hands to every channel."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# A reply is a rendered content message: one type from content to channel.
from common.content.model import Button
from common.content.model import Rendered as Reply

__all__ = ["Button", "Reply", "TurnResult"]


@dataclass(frozen=True)
class TurnResult:
    """Everything a channel needs to answer one incoming message."""

    replies: tuple[Reply, ...]
    intent: str | None = None
    confidence: float | None = None
    crisis: bool = False  # the replies carry emergency contacts
    degraded: bool = False  # Rasa or the action server could not answer
    actions: tuple[str, ...] = field(default=())  # channel actions, e.g. "quick_exit"
    entries: tuple[str, ...] = field(default=())  # content shown, e.g. "legal:harassment_fines"

    def as_json(self) -> dict:
        return {
            "intent": self.intent,
            "confidence": self.confidence,
            "replies": [asdict(r) | {"buttons": [asdict(b) for b in r.buttons]}
                        for r in self.replies],
            "crisis": self.crisis,
            "entries": list(self.entries),
        }
