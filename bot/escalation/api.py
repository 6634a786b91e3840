"""The counselors' authenticated HTTP API (JSON), served behind a TLS reverse proxy.

Clients hold their private keys: they enrol public keys, log in by signing a
challenge and open case content themselves. This layer only checks input,
authenticates the bearer token and maps the service's refusals to statuses;
the service enforces roles. It never logs request bodies or exception
messages, which may quote what a user wrote.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.web import Application, HTTPError, RequestHandler, stream_request_body

from bot.escalation.crypto import CryptoError, PublicIdentity
from bot.escalation.errors import EscalationError, Unauthorized
from bot.escalation.hub import EscalationHub
from bot.escalation.views import Principal

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
MAX_BODY = 64 * 1024
SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.yaml"
KEY_STATUSES = ("pending", "active", "retired", "removed")
_NOTIFY_RE = re.compile(r"^telegram:-?[0-9]{1,20}$")
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}

Result = tuple[int, Any]
Operation = Callable[..., Awaitable[Result]]


class BadInput(EscalationError):
    """Malformed or missing input: refused before anything is touched."""


class TooLarge(EscalationError):
    status, code = 413, "too_large"


# --------------------------------------------------------------------------- input helpers


def _field(doc: dict, name: str, kind: type, *, optional: bool = False) -> Any:
    value = doc.get(name)
    if value is None and optional:
        return None
    if name not in doc and not optional:
        raise BadInput(f"missing field '{name}'")
    # bool is an int subclass: reject it where a number or string is expected.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BadInput(f"field '{name}' must be {kind.__name__}")
    return value


def _text(doc: dict, name: str, max_len: int = 4096, *, optional: bool = False) -> str | None:
    value = _field(doc, name, str, optional=optional)
    if value is not None and len(value) > max_len:
        raise BadInput(f"field '{name}' is longer than {max_len} characters")
    return value


def _identity(doc: dict) -> PublicIdentity:
    raw = _field(doc, "identity", dict)
    for name in ("key_id", "x25519", "ed25519"):
        _text(raw, name, 100)
    try:
        return PublicIdentity.from_json(raw)
    except CryptoError as exc:
        raise BadInput(f"identity is not a valid public key document: {exc}") from None


def _iso(value: Any) -> str:
    return value.isoformat() + "Z"


# --------------------------------------------------------------------------- the handler


@stream_request_body
class _Endpoint(RequestHandler):
    """One route: ``ops`` maps an HTTP method to its operation."""

    def initialize(self, hub: EscalationHub, ops: dict[str, Operation], route: str) -> None:
        self.hub = hub
        self._ops = ops
        self.route = route  # the pattern, for the access log (no case codes or ids)
        self._chunks: list[bytes] = []
        self._size = 0

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.clear_header("Server")

    def prepare(self) -> None:
        # Refuse before reading the body, so an oversized upload costs nothing.
        length = self.request.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > MAX_BODY:
            raise TooLarge(f"the request body exceeds {MAX_BODY} bytes")

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= MAX_BODY:  # chunked uploads announce no length
            self._chunks.append(chunk)

    # Every method goes through one dispatcher so unknown ones answer 405 in JSON.
    async def get(self, *args: str) -> None:
        await self._dispatch(*args)

    post = put = delete = patch = head = options = get

    async def _dispatch(self, *args: str) -> None:
        operation = self._ops.get(self.request.method or "")
        if operation is None:
            raise HTTPError(405)
        if self._size > MAX_BODY:
            raise TooLarge(f"the request body exceeds {MAX_BODY} bytes")
        status, payload = await operation(self, *args)
        self.set_status(status)
        if status == 204:
            self.finish()
        elif isinstance(payload, str):
            self.finish(payload)
        else:
            self.finish(json.dumps(payload, ensure_ascii=False))

    # ----------------------------------------------------------------- request helpers

    def body(self) -> dict:
        try:
            doc = json.loads(b"".join(self._chunks) or b"null")
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise BadInput("the request body is not valid JSON") from None
        if not isinstance(doc, dict):
            raise BadInput("the request body must be a JSON object")
        return doc

    def token(self) -> str:
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("not logged in")
        return token.strip()

    async def principal(self) -> Principal:
        return await self.hub.run(self.hub.service.sessions.authenticate, self.token())

    # ----------------------------------------------------------------- errors

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, EscalationError | HTTPError):
            return  # an expected refusal, already in the access log
        # The type only: an exception's message may quote what a user wrote.
        log.error("api %s %s failed: %s", self.request.method, self.route,
                  getattr(typ, "__name__", "?"))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, EscalationError):
            self.set_status(error.status)
            if error.status == 401:
                self.set_header("WWW-Authenticate", "Bearer")
            body = {"error": error.code, "message": str(error)}
        elif isinstance(error, HTTPError) and status_code in _HTTP_CODES:
            body = {"error": _HTTP_CODES[status_code], "message": self._reason}
            if status_code == 405:  # send_error cleared the headers set before
                self.set_header("Allow", ", ".join(sorted(self._ops)))
        elif status_code < 500 and not error:
            body = {"error": "bad_request", "message": self._reason}
        else:
            self.set_status(500)
            body = {"error": "internal"}
        self.finish(json.dumps(body))


class _NotFound(_Endpoint):
    def initialize(self) -> None:
        self._ops, self.route, self._chunks, self._size = {}, "(unknown)", [], 0

    async def _dispatch(self, *args: str) -> None:
        raise HTTPError(404)


# --------------------------------------------------------------------------- operations


async def _spec(h: _Endpoint) -> Result:
    try:
        text = await asyncio.to_thread(SPEC_PATH.read_text, encoding="utf-8")
    except FileNotFoundError:
        raise HTTPError(404) from None
    h.set_header("Content-Type", "application/yaml; charset=UTF-8")
    return 200, text


async def _enrol(h: _Endpoint) -> Result:
    doc = h.body()
    code, identity = _text(doc, "code", 100), _identity(doc)
    staff_id, key_id = await h.hub.run(h.hub.service.staff.enrol, code, identity)
    return 201, {"staff_id": staff_id, "key_id": key_id, "fingerprint": identity.fingerprint()}


async def _challenge(h: _Endpoint) -> Result:
    key_id = _text(h.body(), "key_id", 64)
    return 200, {"nonce": await h.hub.run(h.hub.service.sessions.challenge, key_id)}


async def _login(h: _Endpoint) -> Result:
    doc = h.body()
    key_id, nonce, signature = (_text(doc, name, 200) for name in ("key_id", "nonce",
                                                                    "signature"))
    token, expires, role = await h.hub.run(h.hub.service.sessions.login, key_id, nonce, signature)
    return 200, {"token": token, "expires_at": _iso(expires), "role": role}


async def _logout(h: _Endpoint) -> Result:
    await h.principal()
    await h.hub.run(h.hub.service.sessions.logout, h.token())
    return 204, None


async def _me(h: _Endpoint) -> Result:
    who = await h.principal()
    return 200, {"staff_id": who.staff_id, "role": who.role, "key_id": who.key_id,
                 "display_name": who.display_name}


async def _set_notify(h: _Endpoint) -> Result:
    who, doc = await h.principal(), h.body()
    if "address" not in doc:
        raise BadInput("missing field 'address'")
    address = _text(doc, "address", 40, optional=True)
    if address is not None and not _NOTIFY_RE.match(address):
        raise BadInput("address must be 'telegram:<chat id>' or null")
    await h.hub.run(h.hub.service.staff.set_notify_chat, who, address)
    return 200, {"address": address}


async def _add_key(h: _Endpoint) -> Result:
    who, identity = await h.principal(), _identity(h.body())
    key_id = await h.hub.run(h.hub.service.staff.add_key, who, identity)
    return 201, {"key_id": key_id, "fingerprint": identity.fingerprint(), "status": "pending"}


async def _keys(h: _Endpoint) -> Result:
    await h.principal()
    status = h.get_query_argument("status", None)
    if status is not None and status not in KEY_STATUSES:
        raise BadInput(f"status must be one of {', '.join(KEY_STATUSES)}")
    return 200, {"keys": await h.hub.run(h.hub.service.staff.keys, status)}


async def _queue(h: _Endpoint) -> Result:
    cases = await h.hub.run(h.hub.service.cases.queue, await h.principal())
    return 200, {"cases": [case.as_json() for case in cases]}


async def _claim(h: _Endpoint, code: str) -> Result:
    case = await h.hub.claim(await h.principal(), code)
    return 200, case.as_json()


async def _read(h: _Endpoint, code: str) -> Result:
    return 200, await h.hub.run(h.hub.service.cases.read, await h.principal(), code)


async def _reply(h: _Endpoint, code: str) -> Result:
    who, doc = await h.principal(), h.body()
    delivered = await h.hub.counselor_reply(who, code, _text(doc, "text", 8000))
    return 201, {"delivered": delivered}


async def _close(h: _Endpoint, code: str) -> Result:
    who, doc = await h.principal(), h.body()
    outcome = _text(doc, "outcome", 64)
    referred_to = _text(doc, "referred_to", 64, optional=True)
    await h.hub.close(who, code, outcome, referred_to)
    return 200, {"code": code.upper(), "status": "closed", "outcome": outcome}


async def _invite(h: _Endpoint) -> Result:
    who, doc = await h.principal(), h.body()
    name, role = _text(doc, "display_name", 200), _text(doc, "role", 32)
    staff_id, code = await h.hub.run(h.hub.service.staff.invite, who, name, role)
    return 201, {"staff_id": staff_id, "enrolment_code": code}


async def _approve(h: _Endpoint, key_id: str) -> Result:
    who, doc = await h.principal(), h.body()
    await h.hub.run(h.hub.service.staff.approve, who, key_id, _text(doc, "signature", 200))
    return 200, {"key_id": key_id, "status": "active"}


async def _remove(h: _Endpoint, staff_id: str) -> Result:
    await h.hub.run(h.hub.service.staff.remove, await h.principal(), staff_id)
    return 204, None


async def _audit(h: _Endpoint) -> Result:
    who = await h.principal()
    raw = h.get_query_argument("limit", "200")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise BadInput("limit must be an integer from 1 to 1000")
    return 200, {"events": await h.hub.run(h.hub.service.audit.read, who, int(raw))}


_SEGMENT = r"([^/]{1,100})"
ROUTES: list[tuple[str, dict[str, Operation]]] = [
    ("/openapi.yaml", {"GET": _spec}),
    ("/enrol", {"POST": _enrol}),
    ("/auth/challenge", {"POST": _challenge}),
    ("/auth/session", {"POST": _login, "DELETE": _logout}),
    ("/me", {"GET": _me}),
    ("/me/notify", {"PUT": _set_notify}),
    ("/me/keys", {"POST": _add_key}),
    ("/keys", {"GET": _keys}),
    ("/cases", {"GET": _queue}),
    (f"/cases/{_SEGMENT}", {"GET": _read}),
    (f"/cases/{_SEGMENT}/claim", {"POST": _claim}),
    (f"/cases/{_SEGMENT}/messages", {"POST": _reply}),
    (f"/cases/{_SEGMENT}/close", {"POST": _close}),
    ("/admin/staff", {"POST": _invite}),
    (f"/admin/staff/{_SEGMENT}", {"DELETE": _remove}),
    (f"/admin/keys/{_SEGMENT}/approval", {"POST": _approve}),
    ("/admin/audit", {"GET": _audit}),
]


def _log_request(handler: RequestHandler) -> None:
    """Method, route pattern, status and time: no ids, codes, addresses or bodies."""
    route = getattr(handler, "route", "?")
    log.info("api %s %s %d %.1fms", handler.request.method, route, handler.get_status(),
             1000.0 * handler.request.request_time())


def make_app(hub: EscalationHub) -> Application:
    # The log names the route with "{}" for its parameter, never the value.
    handlers = [(f"{PREFIX}{path}$", _Endpoint,
                 {"hub": hub, "ops": ops, "route": path.replace(_SEGMENT, "{}")})
                for path, ops in ROUTES]
    return Application(handlers, default_handler_class=_NotFound, log_function=_log_request)


async def serve_api(hub: EscalationHub, port: int, address: str = "127.0.0.1") -> None:
    """Serve until cancelled. Plain HTTP on loopback: TLS is the reverse proxy's job."""
    # Bodies over MAX_BODY get a 413 before being read; this caps chunked ones too.
    server = HTTPServer(make_app(hub), max_body_size=16 * MAX_BODY, body_timeout=60)
    server.listen(port, address=address)
    log.info("counselor API listening on %s:%d%s", address, port, PREFIX)
    try:
        await asyncio.Event().wait()
    finally:
        server.stop()
