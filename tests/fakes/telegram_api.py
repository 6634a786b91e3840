"""A local stand-in for the Telegram Bot API, for tests.

PTB reaches it over real HTTP (``ApplicationBuilder().base_url(standin.base_url)``), so the code
under test keeps its real request encoding, JSON parsing and error mapping; only Telegram itself
is replaced. Behaviour follows https://core.telegram.org/bots/api where tests can notice it
(shared message_id sequence per chat, 48 h delete window, "message is not modified", 429s).

Webhook delivery: after setWebhook, each new update is POSTed to the webhook with its secret
header, on a thread of its own (Telegram, too, keeps several connections open), and retried
with back-off until a 2xx answer, as Telegram retries an update that was not acknowledged.

Not simulated: entity/markup parsing of ``parse_mode`` text, bot permissions
in groups, and the many methods that fall back to ``{"ok": true, "result": true}``.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

JSON = dict[str, Any]

DEFAULT_TOKEN = "123456789:AAstand-in-token-for-antam-tests"
BOT_USERNAME = "antam_test_bot"
BOT_FIRST_NAME = "An Tâm"
DELETE_WINDOW_S = 48 * 3600
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64

# Update types Telegram sends when allowed_updates is empty or was never set.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

# PTB sends str values raw and everything else JSON-dumped (RequestParameter.json_value), so a
# form value "123" may be a string or a number. These parameters are always strings.
_STRING_PARAMS = frozenset({
    "action", "address", "animation", "audio", "business_connection_id", "callback_query_id",
    "caption", "custom_emoji_id", "description", "document", "emoji", "explanation", "file_id",
    "first_name", "foursquare_id", "inline_message_id", "ip_address", "language_code",
    "last_name", "message_effect_id", "name", "parse_mode", "phone_number", "photo", "query",
    "question", "secret_token", "short_description", "sticker", "text", "thumbnail", "title",
    "url", "vcard", "video", "video_note", "voice",
})

_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z0-9_]+)/?$")
_PART_NAME = re.compile(r'(?<![\w*])name="([^"]*)"', re.IGNORECASE)
_PART_FILENAME = re.compile(r'filename="([^"]*)"', re.IGNORECASE)
_PART_TYPE = re.compile(r"^content-type:\s*([^\r\n]+)", re.IGNORECASE | re.MULTILINE)
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_SENDER_FIELDS = ("id", "is_bot", "first_name", "username")
_NO_BUTTON_ACTION = "Bad Request: text buttons are unallowed in the inline keyboard"


class ApiError(Exception):
    """A Telegram-style error answer (``ok: false``) raised inside a method handler."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


# --------------------------------------------------------------------------- request decoding


def _decode_value(name: str, raw: str) -> Any:
    """Undo PTB's form encoding: non-string values arrive JSON-dumped, strings arrive raw."""
    if name in _STRING_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _parse_multipart(content_type: str, body: bytes) -> JSON:
    """Split multipart/form-data by hand: `cgi` is deprecated and `email` mangles binaries."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ValueError("multipart body without boundary")
    params: JSON = {}
    for chunk in body.split(b"--" + match.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.partition(b"\r\n\r\n")
        data = data[:-2] if data.endswith(b"\r\n") else data
        headers = head.decode("utf-8", "replace")
        name = _PART_NAME.search(headers)
        if not name:
            continue
        filename = _PART_FILENAME.search(headers)
        if filename:
            part_type = _PART_TYPE.search(headers)
            params[name.group(1)] = {
                "filename": unquote(filename.group(1)),
                "content_type": part_type.group(1).strip() if part_type else None,
                "data": data,
            }
        else:
            params[name.group(1)] = _decode_value(name.group(1), data.decode("utf-8"))
    return params


def parse_params(query: str, content_type: str, body: bytes) -> JSON:
    """Parameters from the query string and a JSON, urlencoded or multipart body."""
    params: JSON = {k: _decode_value(k, v) for k, v in parse_qsl(query, keep_blank_values=True)}
    kind = content_type.split(";")[0].strip().lower()
    if not body:
        return params
    if kind == "application/json":
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("JSON body must be an object")
        params.update(decoded)
    elif kind == "multipart/form-data":
        params.update(_parse_multipart(content_type, body))
    else:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        params.update({k: _decode_value(k, v) for k, v in pairs})
    return params


def _error(code: int, description: str) -> JSON:
    return ApiError(code, description).payload()


# --------------------------------------------------------------------------- chat state


@dataclass
class _Chat:
    """One chat as Telegram keeps it: a message_id sequence shared by both directions."""

    info: JSON
    next_id: int = 1
    messages: dict[int, JSON] = field(default_factory=dict)
    outgoing: set[int] = field(default_factory=set)
    hidden: set[int] = field(default_factory=set)
    delete_requests: set[int] = field(default_factory=set)

    def allocate(self) -> int:
        message_id = self.next_id
        self.next_id += 1
        return message_id

    def visible(self, message_id: int) -> JSON | None:
        if message_id in self.hidden:
            return None
        return self.messages.get(message_id)


def _infer_chat_type(chat_id: int | str) -> str:
    """Telegram's id ranges: users > 0, basic groups < 0, supergroups/channels <= -10**12."""
    if isinstance(chat_id, str):
        return "channel"
    if chat_id > 0:
        return "private"
    return "supergroup" if chat_id <= -(10**12) else "group"


def _chat_info(chat_id: int | str, chat_type: str) -> JSON:
    if chat_type == "private":
        if isinstance(chat_id, str) or chat_id <= 0:
            raise ValueError(f"private chats need a positive id, got {chat_id!r}")
        return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
    if chat_type not in ("group", "supergroup", "channel"):
        raise ValueError(f"unknown chat type {chat_type!r}")
    if isinstance(chat_id, int) and chat_id >= 0:
        raise ValueError(f"{chat_type} chats need a negative id, got {chat_id}")
    return {"id": chat_id, "type": chat_type, "title": f"Test {chat_type} {chat_id}"}


def _inline_markup(markup: Any) -> JSON | None:
    """Only inline keyboards are echoed back in Message.reply_markup (as Telegram does)."""
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return markup
    return None


def _check_markup(markup: Any) -> None:
    """Reject keyboards Telegram rejects, so a bad button fails in tests and not in production."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if not button.get("text") or len(button) < 2:
                raise ApiError(400, _NO_BUTTON_ACTION)


def _message_kind(message: JSON) -> str:
    for kind in ("text", "photo", "sticker", "voice", "audio", "video", "animation",
                 "document", "location", "contact"):
        if kind in message:
            return kind
    return "other"


# --------------------------------------------------------------------------- HTTP plumbing


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the stand-in; HTTP/1.1 so httpx can keep connections alive."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm and the
    # client's delayed ACK that costs ~40 ms a response, which is not Telegram's.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        status, payload = self.server.standin.handle_http(self.path, content_type, body)
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # PTB cancels a long poll on shutdown; the socket is gone by the time we answer.
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging; tests inspect .calls() instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, standin: TelegramStandIn):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.standin = standin


# --------------------------------------------------------------------------- the stand-in


class TelegramStandIn:
    """Fake Bot API server plus helpers to queue updates and inspect what the bot did.

    Every public method is thread-safe: PTB's requests arrive on server threads while the
    test thread queues updates and reads state.
    """

    def __init__(self, token: str = DEFAULT_TOKEN, *, language_code: str | None = "vi",
                 on_sent: Callable[[int | str], None] | None = None):
        self.token = token
        # Called (on a server thread) with the chat id each time the bot sends a message;
        # benchmarks use it to time replies without polling.
        self.on_sent = on_sent
        self.language_code = language_code
        self._cond = threading.Condition(threading.RLock())
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._clock_offset = 0.0
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 123456789
        self._handlers: dict[str, Callable[[JSON], Any]] = self._method_table()
        self._reset_state()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> int:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread; returns the port."""
        if self._server is None:
            self._stopping = False
            self._server = _Server(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="telegram-standin",
                daemon=True,
            )
            self._thread.start()
        return self.port

    def stop(self) -> None:
        """Wake long polls and shut the server down; safe to call twice."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> TelegramStandIn:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("TelegramStandIn is not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url(...)``; PTB appends the token."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def reset(self) -> None:
        """Forget chats, updates, calls and failures, e.g. between tests sharing one server."""
        with self._cond:
            self._reset_state()

    def advance_clock(self, seconds: float) -> None:
        """Age every message, e.g. past the 48 h delete window."""
        with self._cond:
            self._clock_offset += seconds

    def now(self) -> int:
        """Simulated Unix time used for message dates."""
        return int(time.time() + self._clock_offset)

    def _reset_state(self) -> None:
        self._chats: dict[int | str, _Chat] = {}
        self._updates: list[JSON] = []
        self._next_update_id = 1000
        self._allowed_updates: set[str] | None = None
        self._calls: list[tuple[str, JSON]] = []
        self._sent: list[JSON] = []
        self._answered: list[JSON] = []
        self._callback_ids: set[str] = set()
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._failures: dict[str, list[tuple[int, JSON]]] = {}
        self._webhook_url = ""
        self._webhook_secret = ""
        self.webhook_attempts: dict[int, int] = {}  # update id -> POSTs it took
        self._ids = itertools.count(1)

    # ----------------------------------------------------------------- failure injection

    def fail_next(
        self,
        method: str,
        retry_after: int | None = None,
        *,
        error_code: int = 400,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        With ``retry_after`` the answer is Telegram's flood-control 429 (PTB raises RetryAfter);
        otherwise ``error_code``/``description``, e.g. 403 "Forbidden: bot was blocked by the
        user".
        """
        if retry_after is not None:
            status = 429
            payload = ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            ).payload()
        else:
            status = error_code
            payload = _error(error_code, description or f"Error {error_code}")
        with self._cond:
            queue = self._failures.setdefault(method.lower(), [])
            queue.extend([(status, payload)] * times)

    # ----------------------------------------------------------------- HTTP entry point

    def handle_http(self, raw_path: str, content_type: str, body: bytes) -> tuple[int, JSON]:
        """Route one HTTP request; returns (status, JSON body). Called on server threads."""
        parts = urlsplit(raw_path)
        match = _PATH.match(parts.path)
        if not match:
            return 404, _error(404, "Not Found")
        if unquote(match["token"]) != self.token:
            return 401, _error(401, "Unauthorized")
        try:
            params = parse_params(parts.query, content_type, body)
        except (ValueError, UnicodeDecodeError):
            return 400, _error(400, "Bad Request: can't parse request body")
        return self.call(match["method"], params)

    def call(self, method: str, params: JSON) -> tuple[int, JSON]:
        """Run one Bot API method as if it arrived over HTTP (also handy for unit tests)."""
        with self._cond:
            self._calls.append((method, copy.deepcopy(params)))
            failures = self._failures.get(method.lower())
            if failures:
                return failures.pop(0)
            handler = self._handlers.get(method.lower(), self._accept_anything)
            try:
                return 200, {"ok": True, "result": handler(params)}
            except ApiError as err:
                return err.code, err.payload()
            except (KeyError, TypeError, ValueError) as err:
                return 400, _error(400, f"Bad Request: invalid parameters for {method}: {err}")

    def _method_table(self) -> dict[str, Callable[[JSON], Any]]:
        table: dict[str, Callable[[JSON], Any]] = {
            "getme": lambda params: self.bot_user,
            "getwebhookinfo": self._get_webhook_info,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "editmessagecaption": self._edit_message_caption,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "answercallbackquery": self._answer_callback_query,
            "getfile": self._get_file,
        }
        for method, field_name in _MEDIA_METHODS.items():
            table[method] = self._media_sender(field_name)
        return table

    # ----------------------------------------------------------------- simple methods

    @staticmethod
    def _accept_anything(params: JSON) -> bool:
        """logOut, close, sendChatAction and any method not simulated here."""
        return True

    def _get_webhook_info(self, params: JSON) -> JSON:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _set_webhook(self, params: JSON) -> bool:
        self._webhook_url = str(params.get("url") or "")
        self._webhook_secret = str(params.get("secret_token") or "")
        self._drop_pending(params)
        return True

    def _delete_webhook(self, params: JSON) -> bool:
        self._webhook_url = ""
        self._drop_pending(params)
        return True

    def _drop_pending(self, params: JSON) -> None:
        if params.get("drop_pending_updates"):
            self._updates.clear()

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100 items")
        for command in commands:
            if not _COMMAND_NAME.match(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description is invalid")
        self._commands[self._commands_key(params)] = copy.deepcopy(commands)
        return True

    def _get_my_commands(self, params: JSON) -> list[JSON]:
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: JSON) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callback_ids:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._answered.append({
            "callback_query_id": query_id,
            "text": params.get("text"),
            "show_alert": bool(params.get("show_alert", False)),
            "url": params.get("url"),
            "cache_time": params.get("cache_time"),
        })
        return True

    def _get_file(self, params: JSON) -> JSON:
        file_id = str(params["file_id"])
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": 1,
            "file_path": f"files/{file_id}",
        }

    # ----------------------------------------------------------------- getUpdates

    def _get_updates(self, params: JSON) -> list[JSON]:
        """Long polling: wait on the condition until an update is deliverable or time is up."""
        if self._webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if "allowed_updates" in params:
            self._allowed_updates = set(params["allowed_updates"] or []) or None
        self._confirm(int(params.get("offset") or 0))
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        deadline = time.monotonic() + max(float(params.get("timeout") or 0), 0.0)
        while True:
            ready = self._deliverable()
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._stopping:
                return copy.deepcopy(ready[:limit])
            self._cond.wait(remaining)

    def _confirm(self, offset: int) -> None:
        """Forget updates below ``offset``; a negative offset keeps only the last -offset."""
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _deliverable(self) -> list[JSON]:
        """Drop queued updates of types the bot did not ask for, like Telegram never sends them."""
        self._updates = [u for u in self._updates if self._is_allowed(u)]
        return list(self._updates)

    def _is_allowed(self, update: JSON) -> bool:
        kind = next(key for key in update if key != "update_id")
        if self._allowed_updates is None:
            return kind not in _OPT_IN_UPDATES
        return kind in self._allowed_updates

    def _queue(self, kind: str, payload: JSON) -> JSON:
        update = {"update_id": self._next_update_id, kind: copy.deepcopy(payload)}
        self._next_update_id += 1
        if self._webhook_url:
            threading.Thread(target=self._post_to_webhook, args=(copy.deepcopy(update),),
                             daemon=True).start()
        else:
            self._updates.append(update)
        self._cond.notify_all()
        return copy.deepcopy(update)

    def _post_to_webhook(self, update: JSON) -> None:
        """POST one update to the webhook until it is acknowledged (or the stand-in stops)."""
        body = json.dumps(update).encode()
        delay, attempts = 0.1, 0
        while not self._stopping:
            attempts += 1
            request = urllib.request.Request(
                self._webhook_url, data=body, method="POST",
                headers={"Content-Type": "application/json",
                         "X-Telegram-Bot-Api-Secret-Token": self._webhook_secret})
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    if 200 <= answer.status < 300:
                        break
            except (OSError, urllib.error.URLError):
                pass  # refused, reset, 4xx/5xx: Telegram tries again later
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        with self._cond:
            self.webhook_attempts[update["update_id"]] = attempts

    # ----------------------------------------------------------------- sending

    def _chat(self, chat_id: int | str, chat_type: str | None = None) -> _Chat:
        """The chat with this id, created on first use (the bot may write first in tests)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            info = _chat_info(chat_id, chat_type or _infer_chat_type(chat_id))
            chat = self._chats[chat_id] = _Chat(info)
        return chat

    def _target_chat(self, params: JSON) -> _Chat:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        return self._chat(chat_id)

    def _known_chat(self, params: JSON) -> _Chat:
        chat = self._chats.get(params.get("chat_id"))  # type: ignore[arg-type]
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _send_message(self, params: JSON) -> JSON:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return self._deliver("sendMessage", params, {"text": text})

    def _media_sender(self, field_name: str) -> Callable[[JSON], JSON]:
        def send(params: JSON) -> JSON:
            content = {field_name: _MEDIA_BUILDERS[field_name](self, params)}
            caption = params.get("caption")
            if caption:
                if len(str(caption)) > MAX_CAPTION:
                    raise ApiError(400, "Bad Request: message caption is too long")
                content["caption"] = str(caption)
            return self._deliver(_method_name(field_name), params, content)

        return send

    def _file_stub(self, source: Any) -> JSON:
        """Telegram's file fields; an uploaded part or a file_id/URL string both work."""
        number = next(self._ids)
        stub: JSON = {"file_id": f"file-{number}", "file_unique_id": f"unique-{number}"}
        if isinstance(source, dict):
            stub["file_size"] = len(source.get("data", b""))
        elif isinstance(source, str) and not source.startswith(("http://", "https://")):
            stub["file_id"] = source
        return stub

    def _deliver(self, method: str, params: JSON, content: JSON) -> JSON:
        """Store an outgoing message, record it for .sent() and return the Message object."""
        chat = self._target_chat(params)
        markup = params.get("reply_markup")
        _check_markup(markup)
        reply_to = self._reply_target(chat, params)
        message: JSON = {"message_id": chat.allocate(), "date": self.now(), "chat": chat.info}
        if chat.info["type"] == "channel":
            message["sender_chat"] = chat.info
        else:
            # Messages carry the short user; the capability flags only come with getMe.
            message["from"] = {k: self.bot_user[k] for k in _SENDER_FIELDS}
        message.update(content)
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if _inline_markup(markup):
            message["reply_markup"] = markup
        if params.get("protect_content"):
            message["has_protected_content"] = True
        chat.messages[message["message_id"]] = message
        chat.outgoing.add(message["message_id"])
        self._sent.append(self._sent_record(method, chat, params, message))
        if self.on_sent is not None:
            self.on_sent(chat.info["id"])
        return copy.deepcopy(message)

    @staticmethod
    def _sent_record(method: str, chat: _Chat, params: JSON, message: JSON) -> JSON:
        return copy.deepcopy({
            "method": method,
            "chat_id": chat.info["id"],
            "message_id": message["message_id"],
            "text": message.get("text"),
            "caption": message.get("caption"),
            "reply_markup": params.get("reply_markup"),
            "protect_content": bool(params.get("protect_content", False)),
            "disable_notification": bool(params.get("disable_notification", False)),
            "parse_mode": params.get("parse_mode"),
            "params": params,
            "message": message,
        })

    def _reply_target(self, chat: _Chat, params: JSON) -> JSON | None:
        """reply_parameters (PTB 22) or the legacy reply_to_message_id."""
        reply = params.get("reply_parameters") or {}
        message_id = reply.get("message_id") or params.get("reply_to_message_id")
        if not message_id:
            return None
        target = chat.visible(int(message_id))
        if target is None:
            if reply.get("allow_sending_without_reply") or params.get(
                "allow_sending_without_reply"
            ):
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return {k: v for k, v in target.items() if k != "reply_to_message"}

    # ----------------------------------------------------------------- editing

    def _editable(self, params: JSON) -> JSON | None:
        """The bot's own message to edit, or None for inline messages (not simulated)."""
        if params.get("inline_message_id"):
            return None
        chat = self._known_chat(params)
        message_id = int(params.get("message_id") or 0)
        message = chat.visible(message_id)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message_id not in chat.outgoing:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _apply_edit(self, message: JSON, key: str, value: Any, markup: Any) -> JSON:
        _check_markup(markup)
        new_markup = _inline_markup(markup)
        if message.get(key) == value and message.get("reply_markup") == new_markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
        if new_markup is None:
            message.pop("reply_markup", None)  # Telegram drops the keyboard unless re-sent
        else:
            message["reply_markup"] = new_markup
        message["edit_date"] = self.now()
        return copy.deepcopy(message)

    def _edit_message_text(self, params: JSON) -> JSON | bool:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        message = self._editable(params)
        if message is None:
            return True
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        return self._apply_edit(message, "text", text, params.get("reply_markup"))

    def _edit_message_caption(self, params: JSON) -> JSON | bool:
        message = self._editable(params)
        if message is None:
            return True
        if "text" in message:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption = params.get("caption") or None
        return self._apply_edit(message, "caption", caption, params.get("reply_markup"))

    def _edit_message_reply_markup(self, params: JSON) -> JSON | bool:
        message = self._editable(params)
        if message is None:
            return True
        kind = "text" if "text" in message else "caption"
        return self._apply_edit(message, kind, message.get(kind), params.get("reply_markup"))

    # ----------------------------------------------------------------- deleting

    def _too_old(self, message: JSON) -> bool:
        return self.now() - int(message["date"]) >= DELETE_WINDOW_S

    def _delete_message(self, params: JSON) -> bool:
        chat = self._known_chat(params)
        message_id = int(params["message_id"])
        message = chat.visible(message_id)
        if message is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        if self._too_old(message):
            raise ApiError(400, "Bad Request: message can't be deleted")
        chat.hidden.add(message_id)
        chat.delete_requests.add(message_id)
        return True

    def _delete_messages(self, params: JSON) -> bool:
        """Missing ids are skipped, as documented; any too-old message fails the whole call."""
        chat = self._known_chat(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message_ids must hold 1-100 identifiers")
        message_ids = [int(message_id) for message_id in ids]
        found = [m for m in map(chat.visible, message_ids) if m is not None]
        if any(self._too_old(message) for message in found):
            raise ApiError(400, "Bad Request: message can't be deleted")
        chat.hidden.update(m["message_id"] for m in found)
        chat.delete_requests.update(message_ids)
        return True

    # ----------------------------------------------------------------- building updates

    def _user(self, user_id: int) -> JSON:
        user: JSON = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def _incoming(
        self,
        chat_id: int,
        content: JSON,
        user_id: int | None,
        chat_type: str,
    ) -> JSON:
        """Store a message the user sent; it takes the chat's next message_id."""
        chat = self._chat(chat_id, chat_type)
        sender = user_id if user_id is not None else (chat_id if chat_id > 0 else 1001)
        message: JSON = {
            "message_id": chat.allocate(),
            "date": self.now(),
            "chat": chat.info,
            "from": self._user(sender),
            **content,
        }
        chat.messages[message["message_id"]] = message
        return message

    def _message_update(
        self,
        chat_id: int,
        content: JSON,
        user_id: int | None,
        chat_type: str,
        extra: JSON,
    ) -> JSON:
        with self._cond:
            message = self._incoming(chat_id, {**content, **extra}, user_id, chat_type)
            return self._queue("message", message)

    def user_message(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        chat_type: str = "private",
        **extra: Any,
    ) -> JSON:
        """Queue a text message from a user; ``extra`` is merged into the Message."""
        return self._message_update(chat_id, {"text": text}, user_id, chat_type, extra)

    def command(
        self,
        chat_id: int,
        command: str,
        user_id: int | None = None,
        chat_type: str = "private",
        **extra: Any,
    ) -> JSON:
        """Queue "/start" or "/start payload" with the bot_command entity PTB filters on."""
        if not command.startswith("/"):
            raise ValueError(f"commands start with '/', got {command!r}")
        length = len(command.split(maxsplit=1)[0])
        entities = [{"type": "bot_command", "offset": 0, "length": length}]
        content = {"text": command, "entities": entities}
        return self._message_update(chat_id, content, user_id, chat_type, extra)

    def sticker(self, chat_id: int, emoji: str = "🙂", **kwargs: Any) -> JSON:
        """Queue a sticker."""
        with self._cond:
            sticker = {
                **self._file_stub(None),
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
            }
        return self._media_update(chat_id, {"sticker": sticker}, kwargs)

    def photo(self, chat_id: int, caption: str | None = None, **kwargs: Any) -> JSON:
        """Queue a photo (two sizes, as Telegram sends)."""
        with self._cond:
            sizes = [
                {**self._file_stub(None), "width": 90, "height": 90},
                {**self._file_stub(None), "width": 1280, "height": 960},
            ]
        content: JSON = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._media_update(chat_id, content, kwargs)

    def voice(self, chat_id: int, duration: int = 3, **kwargs: Any) -> JSON:
        """Queue a voice note."""
        with self._cond:
            voice = {**self._file_stub(None), "duration": duration, "mime_type": "audio/ogg"}
        return self._media_update(chat_id, {"voice": voice}, kwargs)

    def document(
        self,
        chat_id: int,
        file_name: str = "file.pdf",
        mime_type: str = "application/pdf",
        **kwargs: Any,
    ) -> JSON:
        """Queue a document."""
        with self._cond:
            document = {**self._file_stub(None), "file_name": file_name, "mime_type": mime_type}
        return self._media_update(chat_id, {"document": document}, kwargs)

    def location(
        self,
        chat_id: int,
        latitude: float = 21.0285,
        longitude: float = 105.8542,
        **kwargs: Any,
    ) -> JSON:
        """Queue a shared location (default: Hà Nội)."""
        content = {"location": {"latitude": latitude, "longitude": longitude}}
        return self._media_update(chat_id, content, kwargs)

    def contact(
        self,
        chat_id: int,
        phone_number: str = "+84900000000",
        first_name: str = "Contact",
        **kwargs: Any,
    ) -> JSON:
        """Queue a shared contact."""
        content = {"contact": {"phone_number": phone_number, "first_name": first_name}}
        return self._media_update(chat_id, content, kwargs)

    def forwarded(
        self,
        chat_id: int,
        text: str,
        origin_name: str = "Someone",
        **kwargs: Any,
    ) -> JSON:
        """Queue a text forwarded from a user with hidden identity (forward_origin)."""
        origin = {"type": "hidden_user", "date": self.now() - 60, "sender_user_name": origin_name}
        return self._media_update(chat_id, {"text": text, "forward_origin": origin}, kwargs)

    def _media_update(self, chat_id: int, content: JSON, kwargs: JSON) -> JSON:
        user_id = kwargs.pop("user_id", None)
        chat_type = kwargs.pop("chat_type", "private")
        return self._message_update(chat_id, content, user_id, chat_type, kwargs)

    def edited_message(self, chat_id: int, message_id: int, text: str, **extra: Any) -> JSON:
        """Queue an edit of a text the user sent earlier (through these helpers)."""
        with self._cond:
            chat = self._chats.get(chat_id)
            message = chat.visible(message_id) if chat else None
            if chat is None or message is None or message_id in chat.outgoing:
                raise ValueError(f"no visible incoming message {message_id} in chat {chat_id}")
            message.update({"text": text, "edit_date": self.now(), **extra})
            return self._queue("edited_message", message)

    def channel_post(self, chat_id: int, text: str, **extra: Any) -> JSON:
        """Queue a post in a channel the bot administers (no ``from``; ``sender_chat``)."""
        with self._cond:
            chat = self._chat(chat_id, "channel")
            message: JSON = {
                "message_id": chat.allocate(),
                "date": self.now(),
                "chat": chat.info,
                "sender_chat": chat.info,
                "text": text,
                **extra,
            }
            chat.messages[message["message_id"]] = message
            return self._queue("channel_post", message)

    def callback_query(
        self,
        chat_id: int,
        data: str,
        message_id: int,
        user_id: int | None = None,
        **extra: Any,
    ) -> JSON:
        """Queue a button press on a visible message the bot sent in this chat."""
        with self._cond:
            chat = self._chats.get(chat_id)
            message = chat.visible(message_id) if chat else None
            if message is None:
                raise ValueError(f"no visible message {message_id} in chat {chat_id} to press on")
            query_id = str(next(self._ids) * 7919)
            self._callback_ids.add(query_id)
            sender = user_id if user_id is not None else (chat_id if chat_id > 0 else 1001)
            query: JSON = {
                "id": query_id,
                "from": self._user(sender),
                "message": message,
                "chat_instance": f"instance-{chat_id}",
                "data": data,
                **extra,
            }
            return self._queue("callback_query", query)

    # ----------------------------------------------------------------- inspecting

    def sent(self, chat_id: int | str | None = None) -> list[JSON]:
        """Messages the bot sent (as sent, before later edits), oldest first."""
        with self._cond:
            records = [r for r in self._sent if chat_id is None or r["chat_id"] == chat_id]
            return copy.deepcopy(records)

    def calls(self, method: str | None = None) -> list[tuple[str, JSON]]:
        """Every authorised API call as (method, params), including failed ones."""
        with self._cond:
            wanted = method.lower() if method else None
            calls = [c for c in self._calls if wanted is None or c[0].lower() == wanted]
            return copy.deepcopy(calls)

    def deleted(self, chat_id: int | str) -> set[int]:
        """Message ids the bot deleted (deleteMessages ids are recorded even if missing)."""
        with self._cond:
            chat = self._chats.get(chat_id)
            return set(chat.delete_requests) if chat else set()

    def answered_callbacks(self) -> list[JSON]:
        """answerCallbackQuery calls: callback_query_id, text, show_alert, url, cache_time."""
        with self._cond:
            return copy.deepcopy(self._answered)

    @property
    def commands(self) -> list[JSON]:
        """Commands set for the default scope and language."""
        return self.commands_for()

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """Commands set for one scope (e.g. {"type": "all_private_chats"}) and language."""
        params = {"scope": scope, "language_code": language_code}
        with self._cond:
            return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def message(self, chat_id: int | str, message_id: int) -> JSON | None:
        """Current state of one message (after edits), or None if unknown or deleted."""
        with self._cond:
            chat = self._chats.get(chat_id)
            message = chat.visible(message_id) if chat else None
            return copy.deepcopy(message)

    def visible_messages(self, chat_id: int | str) -> list[JSON]:
        """What the person sees on the phone: undeleted messages, both directions, in order."""
        with self._cond:
            chat = self._chats.get(chat_id)
            if chat is None:
                return []
            ids = sorted(i for i in chat.messages if i not in chat.hidden)
            return copy.deepcopy([chat.messages[i] for i in ids])

    def visible_texts(self, chat_id: int | str) -> list[str]:
        """visible_messages reduced to text (or caption, or "<sticker>"-style placeholders)."""
        return [
            m.get("text") or m.get("caption") or f"<{_message_kind(m)}>"
            for m in self.visible_messages(chat_id)
        ]

    def pending_updates(self) -> list[JSON]:
        """Queued updates the bot has not confirmed with a later offset yet."""
        with self._cond:
            return copy.deepcopy(self._updates)

    def dump(self, last: int = 25) -> str:
        """Human-readable recent state, for assertion messages."""
        with self._cond:
            lines = [f"last {last} calls of {len(self._calls)}:"]
            lines += [f"  {m} {_abridge(p)}" for m, p in self._calls[-last:]]
            lines.append(f"sent ({len(self._sent)}):")
            lines += [
                f"  chat={r['chat_id']} id={r['message_id']} {r['method']}: "
                f"{r['text'] or r['caption']!r}"
                for r in self._sent[-last:]
            ]
            lines.append(f"pending updates: {[u['update_id'] for u in self._updates]}")
            return "\n".join(lines)

    # ----------------------------------------------------------------- waiting

    def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 10.0,
        what: str = "condition",
    ) -> Any:
        """Poll ``predicate()`` until truthy and return its value; blocks the calling thread.

        Use it when the bot runs elsewhere (thread or subprocess); inside the event loop that
        runs PTB, use ``await wait_for_async(...)`` instead or the bot could never progress.
        """
        _refuse_inside_event_loop("wait_for")
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                self._time_out(what, timeout)
            time.sleep(0.02)

    async def wait_for_async(
        self,
        predicate: Callable[[], Any],
        timeout: float = 10.0,
        what: str = "condition",
    ) -> Any:
        """Like wait_for, but yields to the event loop so an in-process PTB app keeps running."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                self._time_out(what, timeout)
            await asyncio.sleep(0.02)

    def wait_for_sent(self, chat_id: int | str, count: int, timeout: float = 10.0) -> list[JSON]:
        """Block until the bot has sent at least ``count`` messages to the chat; returns them."""
        return self.wait_for(
            lambda: self._enough_sent(chat_id, count), timeout, f"{count} sent to {chat_id}"
        )

    async def wait_for_sent_async(
        self, chat_id: int | str, count: int, timeout: float = 10.0
    ) -> list[JSON]:
        """Async twin of wait_for_sent, for tests running PTB in the same event loop."""
        return await self.wait_for_async(
            lambda: self._enough_sent(chat_id, count), timeout, f"{count} sent to {chat_id}"
        )

    def _enough_sent(self, chat_id: int | str, count: int) -> list[JSON] | None:
        sent = self.sent(chat_id)
        return sent if len(sent) >= count else None

    def _time_out(self, what: str, timeout: float) -> None:
        raise AssertionError(f"timed out after {timeout:g}s waiting for {what}\n{self.dump()}")


# --------------------------------------------------------------------------- media tables


def _method_name(field_name: str) -> str:
    return "send" + "".join(part.title() for part in field_name.split("_"))


def _with_duration(standin: TelegramStandIn, params: JSON, source: Any) -> JSON:
    return {**standin._file_stub(source), "duration": int(params.get("duration") or 1)}


def _visual(standin: TelegramStandIn, params: JSON, source: Any) -> JSON:
    return {
        **_with_duration(standin, params, source),
        "width": int(params.get("width") or 640),
        "height": int(params.get("height") or 480),
    }


def _document(standin: TelegramStandIn, params: JSON) -> JSON:
    source = params.get("document")
    stub = standin._file_stub(source)
    if isinstance(source, dict):
        stub["file_name"] = source["filename"]
        stub["mime_type"] = source["content_type"] or "application/octet-stream"
    return stub


def _photo(standin: TelegramStandIn, params: JSON) -> list[JSON]:
    return [
        {**standin._file_stub(params.get("photo")), "width": 90, "height": 90},
        {**standin._file_stub(params.get("photo")), "width": 1280, "height": 960},
    ]


def _sticker(standin: TelegramStandIn, params: JSON) -> JSON:
    return {
        **standin._file_stub(params.get("sticker")),
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }


def _location(standin: TelegramStandIn, params: JSON) -> JSON:
    return {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}


def _contact(standin: TelegramStandIn, params: JSON) -> JSON:
    return {"phone_number": str(params["phone_number"]), "first_name": str(params["first_name"])}


_MEDIA_BUILDERS: dict[str, Callable[[TelegramStandIn, JSON], Any]] = {
    "photo": _photo,
    "document": _document,
    "sticker": _sticker,
    "voice": lambda s, p: _with_duration(s, p, p.get("voice")),
    "audio": lambda s, p: _with_duration(s, p, p.get("audio")),
    "video": lambda s, p: _visual(s, p, p.get("video")),
    "animation": lambda s, p: _visual(s, p, p.get("animation")),
    "location": _location,
    "contact": _contact,
}
_MEDIA_METHODS = {_method_name(name).lower(): name for name in _MEDIA_BUILDERS}


# --------------------------------------------------------------------------- small helpers


def _abridge(params: JSON, limit: int = 160) -> str:
    text = json.dumps(params, ensure_ascii=False, default=lambda value: f"<{type(value).__name__}>")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _refuse_inside_event_loop(name: str) -> None:
    """A blocking wait inside PTB's own event loop would deadlock the test; fail loudly."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(f"{name} blocks the running event loop; use `await {name}_async(...)`")
