"""An Tâm's Rasa input channel: the only way in for messages.

Why not Rasa's REST channel: it ignores ``--auth-token``, swallows exceptions
(a failure looks like 200 with ``[]``) and returns no intent. This channel
checks a shared secret in constant time, lets failures surface as HTTP 500 so
the bot can fall back, and returns the parsed intent with the replies in one
call. It runs inside Rasa (Python 3.10); it must not import ``bot``.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

import nlu.speedups  # noqa: F401  (patches Rasa once it is loaded: see that module)

log = logging.getLogger(__name__)


class AnTamInputChannel(InputChannel):
    """POST /webhooks/antam/webhook with ``Authorization: Bearer <secret>``."""

    def __init__(self, secret: str | None) -> None:
        if not secret:
            raise ValueError("the An Tâm channel needs a secret (ANTAM_CHANNEL_SECRET)")
        self._secret = secret.encode()

    @classmethod
    def name(cls) -> str:
        return "antam"

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        return cls((credentials or {}).get("secret"))

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer "):] if header.startswith("Bearer ") else ""
        return hmac.compare_digest(token.encode(), self._secret)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = Blueprint("antam_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            # Names the tracker store in use: Rasa falls back to its own (which never
            # forgets) with only a warning if ours fails to load, and tests check this.
            store = getattr(getattr(request.app.ctx, "agent", None), "tracker_store", None)
            store = getattr(store, "_tracker_store", store)  # inside Rasa's FailSafe wrapper
            return response.json({"status": "ok", "tracker_store": type(store).__name__})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return response.json({"error": "unauthorised"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not isinstance(text, str):
                return response.json({"error": "sender and message are required"}, status=400)
            collector = CollectingOutputChannel()
            # Exceptions propagate on purpose: Sanic answers 500 and the bot degrades.
            await on_new_message(UserMessage(text, collector, sender, input_channel=self.name()))
            tracker = await request.app.ctx.agent.processor.get_tracker(sender)
            parsed = tracker.latest_message.parse_data if tracker.latest_message else {}
            intent = parsed.get("intent") or {}
            ranking = [{"name": i.get("name"), "confidence": i.get("confidence")}
                       for i in (parsed.get("intent_ranking") or [])[:3]]
            return response.json({
                "intent": {"name": intent.get("name"), "confidence": intent.get("confidence")},
                "ranking": ranking,  # lets the bot's safety net see a close second
                "messages": collector.messages,
            })

        return webhook
