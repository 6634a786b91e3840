"""The console channel: an interactive terminal chat, or JSON lines for scripts.

JSON lines: each stdin line is plain text (all plain lines share one
conversation) or an object ``{"text": ..., "sender": ...}`` (one conversation
per sender). Each answer is one JSON object on stdout with the keys
``message``, ``intent``, ``confidence``, ``replies`` and ``crisis``; a line that
could not be read whole also carries ``error``. Nothing is ever fatal.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import BinaryIO, TextIO

from bot.core import ConversationCore, IncomingMessage
from bot.handlers.base import Channel
from bot.replies import Reply, TurnResult

PROMPT = "Bạn: "


class ConsoleChannel(Channel):
    name = "console"

    def __init__(self, core: ConversationCore, jsonl: bool = False,
                 stdin: BinaryIO | None = None, stdout: TextIO | None = None):
        super().__init__(core)
        self.jsonl = jsonl
        self._in = stdin or sys.stdin.buffer
        self._out = stdout or sys.stdout
        self._session = uuid.uuid4().hex  # one conversation for all plain lines
        self._last_buttons: list[str] = []

    async def _relay(self, chat_id: str, reply: Reply, silent: bool = False) -> None:
        """A counselor's message, shown between turns."""
        if self.jsonl:
            self._write(json.dumps({"relay": reply.text, "to": chat_id}, ensure_ascii=False))
        else:
            self._write("")
            self._last_buttons = self._show(TurnResult(replies=(reply,)))
            self._write(PROMPT, end="")

    async def serve(self) -> None:
        if self.core.outbox is not None:
            self.core.outbox.register(self.name, self._relay)
        if not self.jsonl:
            self._write(PROMPT, end="")
        async for raw in self._lines():
            text, error = _decode(raw.rstrip(b"\r\n"))
            sender, text = self._sender_and_text(text)
            if not self.jsonl:
                text = _pick_button(text, self._last_buttons)
            early: list[Reply] = []  # the emergency reply, sent before the answer
            result = await self.core.handle(IncomingMessage(self.name, sender, text),
                                            early=_collect(early))
            result = replace(result, replies=(*early, *result.replies))
            if self.jsonl:
                self._write(json.dumps(_jsonl_record(text, result, error), ensure_ascii=False))
            else:
                self._last_buttons = self._show(result)
                self._write(PROMPT, end="")
        await self.core.drain()

    async def _lines(self) -> AsyncIterator[bytes]:
        """stdin lines, read by a daemon thread so Ctrl-C never waits for Enter."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes] = asyncio.Queue()

        def read() -> None:
            for raw in iter(self._in.readline, b""):
                loop.call_soon_threadsafe(queue.put_nowait, raw)
            loop.call_soon_threadsafe(queue.put_nowait, b"")

        threading.Thread(target=read, daemon=True, name="console-stdin").start()
        while raw := await queue.get():
            yield raw

    def _sender_and_text(self, text: str) -> tuple[str, str]:
        if self.jsonl and text.lstrip().startswith("{"):
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict) and isinstance(data.get("text"), str):
                return str(data.get("sender") or self._session), data["text"]
        return self._session, text

    def _show(self, result: TurnResult) -> list[str]:
        payloads: list[str] = []
        for reply in result.replies:
            self._write(f"An Tâm: {reply.text}")
            for button in reply.buttons:
                payloads.append(button.payload)
                self._write(f"  [{len(payloads)}] {button.title}")
        return payloads

    def _write(self, line: str, end: str = "\n") -> None:
        self._out.write(line + end)
        self._out.flush()


def _collect(into: list[Reply]):
    """An early sender that keeps replies for the turn's record, in order."""
    async def early(reply: Reply) -> None:
        into.append(reply)
    return early


def _decode(raw: bytes) -> tuple[str, str | None]:
    """UTF-8 text; invalid bytes are replaced (never dropped) so the safety net still reads it."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), "invalid UTF-8: undecodable bytes replaced"


def _pick_button(text: str, payloads: list[str]) -> str:
    """In the interactive chat, typing a button's number presses it."""
    stripped = text.strip()
    if stripped.isdigit() and 1 <= int(stripped) <= len(payloads):
        return payloads[int(stripped) - 1]
    return text


def _jsonl_record(text: str, result: TurnResult, error: str | None) -> dict:
    record = {"message": text, **result.as_json()}
    if error:
        record["error"] = error
    return record
