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

from bot.escalation.crypto import CryptoError, PublicIdentity, b64e
from bot.escalation.errors import EscalationError, Forbidden, TooManyRequests, Unauthorized
from bot.escalation.hub import EscalationHub
from bot.escalation.ratelimit import RateLimiter
from bot.escalation.views import Principal
from bot.escalation.wrapup import WrapUp

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
MAX_BODY = 64 * 1024
SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.yaml"
KEY_STATUSES = ("pending", "active", "retired", "removed")
_NOTIFY_RE = re.compile(r"^telegram:-?[0-9]{1,20}$")
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
MAX_SIGNED = 50  # revocations or retirements in one request

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


def _signed_list(doc: dict, name: str) -> list[dict]:
    """Revocations an admin signed on their own machine: [{key_id, revoked_at, signature}]."""
    items = _field(doc, name, list, optional=True) or []
    if len(items) > MAX_SIGNED:
        raise BadInput(f"field '{name}' holds more than {MAX_SIGNED} entries")
    for item in items:
        if not isinstance(item, dict):
            raise BadInput(f"every entry of '{name}' must be an object")
        for part in ("key_id", "revoked_at", "signature"):
            _text(item, part, 200)
    return items


class Limits:
    """Buckets for the unauthenticated doors: per client address and per key id."""

    def __init__(self) -> None:
        # A whole team may sit behind one office address: generous per address, tight per
        # key (the same key has no reason to log in ten times a minute).
        self.by_address = RateLimiter(per_minute=60, burst=60)
        self.by_key = RateLimiter(per_minute=10, burst=10)
        self.enrol = RateLimiter(per_minute=10, burst=10)

    def check(self, limiter: RateLimiter, key: str) -> None:
        wait = limiter.retry_after(key)
        if wait > 0:
            raise TooManyRequests(f"too many attempts: try again in {int(wait) + 1} s")


# --------------------------------------------------------------------------- the handler


@stream_request_body
class _Endpoint(RequestHandler):
    """One route: ``ops`` maps an HTTP method to its operation."""

    max_body = MAX_BODY

    def initialize(self, hub: EscalationHub, ops: dict[str, Operation], route: str,
                   limits: Limits) -> None:
        self.hub = hub
        self.limits = limits
        self._ops = ops
        self.route = route  # the pattern, for the access log (no case codes or ids)
        self._chunks: list[bytes] = []
        self._size = 0

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        self.set_header("Referrer-Policy", "no-referrer")
        self.clear_header("Server")

    def prepare(self) -> None:
        # Refuse before reading the body, so an oversized upload costs nothing.
        length = self.request.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.max_body:
            raise TooLarge(f"the request body exceeds {self.max_body} bytes")

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= self.max_body:  # chunked uploads announce no length
            self._chunks.append(chunk)

    # Every method goes through one dispatcher so unknown ones answer 405 in JSON.
    async def get(self, *args: str) -> None:
        await self._dispatch(*args)

    post = put = delete = patch = head = options = get

    async def _dispatch(self, *args: str) -> None:
        operation = self._ops.get(self.request.method or "")
        if operation is None:
            raise HTTPError(405)
        if self._size > self.max_body:
            raise TooLarge(f"the request body exceeds {self.max_body} bytes")
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

    def limit(self, limiter: RateLimiter, key: str | None = None) -> None:
        """Refuse (429) beyond the door's rate, per client address and, if given, key."""
        self.limits.check(self.limits.by_address, self.request.remote_ip or "?")
        if key is not None:
            self.limits.check(limiter, key)

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
            if error.status == 429:
                self.set_header("Retry-After", "".join(c for c in str(error) if c.isdigit())
                                or "60")
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
        self.limits = Limits()

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


async def _server(h: _Endpoint) -> Result:
    """The key that signs sealed items, for clients to compare with the one they pinned,
    and the origins a log-in signature must name."""
    key = h.hub.service.cases.signing_key
    policy = h.hub.service.policy
    return 200, {"signing_key": b64e(key),
                 "fingerprint": PublicIdentity(b"", key).fingerprint(),
                 "origins": list(policy.origins()),
                 "idle_lock_minutes": policy.idle_lock_minutes}


async def _enrol(h: _Endpoint) -> Result:
    h.limit(h.limits.enrol, h.request.remote_ip or "?")
    doc = h.body()
    code, identity = _text(doc, "code", 100), _identity(doc)
    alias = _text(doc, "alias", 60, optional=True)
    staff_id, key_id = await h.hub.run(h.hub.service.staff.enrol, code, identity, alias)
    return 201, {"staff_id": staff_id, "key_id": key_id, "fingerprint": identity.fingerprint()}


async def _challenge(h: _Endpoint) -> Result:
    key_id = _text(h.body(), "key_id", 64)
    h.limit(h.limits.by_key, key_id)
    return 200, {"nonce": await h.hub.run(h.hub.service.sessions.challenge, key_id)}


async def _login(h: _Endpoint) -> Result:
    doc = h.body()
    key_id, nonce, signature = (_text(doc, name, 200) for name in ("key_id", "nonce",
                                                                    "signature"))
    h.limit(h.limits.by_key, key_id)
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


async def _set_alias(h: _Endpoint) -> Result:
    who, doc = await h.principal(), h.body()
    alias = await h.hub.run(h.hub.service.staff.set_alias, who, _text(doc, "alias", 60))
    return 200, {"alias": alias}


async def _add_key(h: _Endpoint) -> Result:
    who, identity = await h.principal(), _identity(h.body())
    key_id = await h.hub.run(h.hub.service.staff.add_key, who, identity)
    return 201, {"key_id": key_id, "fingerprint": identity.fingerprint(), "status": "pending"}


async def _keys(h: _Endpoint) -> Result:
    await h.principal()
    status = h.get_query_argument("status", None)
    if status is not None and status not in KEY_STATUSES:
        raise BadInput(f"status must be one of {', '.join(KEY_STATUSES)}")
    staff_id = h.get_query_argument("staff_id", None)
    if staff_id is not None and len(staff_id) > 60:
        raise BadInput("staff_id is too long")
    return 200, {"keys": await h.hub.run(h.hub.service.staff.keys, status, staff_id)}


async def _queue(h: _Endpoint) -> Result:
    cases = await h.hub.run(h.hub.service.cases.queue, await h.principal())
    return 200, {"cases": [case.as_json() for case in cases]}


async def _claim(h: _Endpoint, code: str) -> Result:
    case = await h.hub.claim(await h.principal(), code)
    return 200, case.as_json()


async def _read(h: _Endpoint, code: str) -> Result:
    raw = h.get_query_argument("since", "-1")
    if not raw.lstrip("-").isdigit() or int(raw) < -1:
        raise BadInput("since must be an item number")
    return 200, await h.hub.run(h.hub.service.cases.read, await h.principal(), code, int(raw))


async def _add_note(h: _Endpoint, code: str) -> Result:
    who, doc = await h.principal(), h.body()
    note_id = _field(doc, "note_id", int)
    await h.hub.add_note(who, code, note_id, _field(doc, "sealed", dict))
    return 201, {"note_id": note_id}


async def _handover(h: _Endpoint, code: str) -> Result:
    who, doc = await h.principal(), h.body()
    to = _text(doc, "to", 60, optional=True)
    shares = _field(doc, "shares", list, optional=True) or []
    if to is None and shares:
        raise BadInput("a case going back to the queue carries no shares")
    note = _field(doc, "note", dict, optional=True)
    case = await h.hub.hand_over(who, code, to, shares, note)
    return 200, case.as_json()


async def _takeover(h: _Endpoint, code: str) -> Result:
    return 200, (await h.hub.take_over(await h.principal(), code)).as_json()


async def _people(h: _Endpoint) -> Result:
    return 200, {"staff": await h.hub.run(h.hub.service.staff.people, await h.principal())}


async def _canned(h: _Endpoint) -> Result:
    await _staff_reader(h)
    content = h.hub.content.get()
    return 200, {"canned": [{"id": c.id, "title": c.title, "text": c.text}
                            for c in content.canned.values()]}


async def _directory(h: _Endpoint) -> Result:
    """Support services from content/contacts.yml that may be shown (verified)."""
    await _staff_reader(h)
    content = h.hub.content.get()
    return 200, {"contacts": [
        {"id": c.id, "name": c.name, "number": c.number, "hours": c.hours, "cost": c.cost,
         "serves": c.serves, "region": c.region, "needs": list(c.needs),
         "emergency": c.emergency}
        for c in content.contacts.values() if c.fact.verified]}


async def _staff_reader(h: _Endpoint) -> Principal:
    who = await h.principal()
    if who.role not in ("counselor", "supervisor"):
        raise Forbidden("this needs the counselor or supervisor role")
    if h.hub.content is None:
        raise HTTPError(404)
    return who


async def _share(h: _Endpoint, code: str) -> Result:
    who, doc = await h.principal(), h.body()
    shares = _field(doc, "shares", list)
    added = await h.hub.run(h.hub.service.cases.share, who, code, shares)
    return 201, {"added": added}


async def _reply(h: _Endpoint, code: str) -> Result:
    who, doc = await h.principal(), h.body()
    delivered = await h.hub.counselor_reply(who, code, _text(doc, "text", 8000))
    return 201, {"delivered": delivered}


async def _close(h: _Endpoint, code: str) -> Result:
    who, doc = await h.principal(), h.body()
    _text(doc, "outcome", 64)
    _text(doc, "referred_to", 64, optional=True)
    wrapup = WrapUp.from_json(doc)
    await h.hub.close(who, code, wrapup)
    return 200, {"code": code.upper(), "status": "closed", "outcome": wrapup.outcome}


async def _invite(h: _Endpoint) -> Result:
    who, doc = await h.principal(), h.body()
    name, role = _text(doc, "display_name", 200), _text(doc, "role", 32)
    staff_id, code = await h.hub.run(h.hub.service.staff.invite, who, name, role)
    return 201, {"staff_id": staff_id, "enrolment_code": code}


async def _approve(h: _Endpoint, key_id: str) -> Result:
    who, doc = await h.principal(), h.body()
    await h.hub.run(h.hub.service.staff.approve, who, key_id, _text(doc, "signature", 200),
                    _signed_list(doc, "retire"))
    return 200, {"key_id": key_id, "status": "active"}


async def _remove(h: _Endpoint, staff_id: str) -> Result:
    who, doc = await h.principal(), h.body()
    await h.hub.remove_staff(who, staff_id, _signed_list(doc, "revocations"))
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
    ("/server", {"GET": _server}),
    ("/enrol", {"POST": _enrol}),
    ("/auth/challenge", {"POST": _challenge}),
    ("/auth/session", {"POST": _login, "DELETE": _logout}),
    ("/me", {"GET": _me}),
    ("/me/notify", {"PUT": _set_notify}),
    ("/me/alias", {"PUT": _set_alias}),
    ("/me/keys", {"POST": _add_key}),
    ("/keys", {"GET": _keys}),
    ("/cases", {"GET": _queue}),
    (f"/cases/{_SEGMENT}", {"GET": _read}),
    (f"/cases/{_SEGMENT}/claim", {"POST": _claim}),
    (f"/cases/{_SEGMENT}/messages", {"POST": _reply}),
    (f"/cases/{_SEGMENT}/shares", {"POST": _share}),
    (f"/cases/{_SEGMENT}/notes", {"POST": _add_note}),
    (f"/cases/{_SEGMENT}/handover", {"POST": _handover}),
    (f"/cases/{_SEGMENT}/takeover", {"POST": _takeover}),
    ("/staff", {"GET": _people}),
    ("/canned", {"GET": _canned}),
    ("/directory", {"GET": _directory}),
    (f"/cases/{_SEGMENT}/close", {"POST": _close}),
    ("/admin/staff", {"POST": _invite}),
    (f"/admin/staff/{_SEGMENT}/removal", {"POST": _remove}),
    (f"/admin/keys/{_SEGMENT}/approval", {"POST": _approve}),
    ("/admin/audit", {"GET": _audit}),
]


def _log_request(handler: RequestHandler) -> None:
    """Method, route pattern, status and time: no ids, codes, addresses or bodies."""
    route = getattr(handler, "route", "?")
    log.info("api %s %s %d %.1fms", handler.request.method, route, handler.get_status(),
             1000.0 * handler.request.request_time())


def api_handlers(hub: EscalationHub) -> list[tuple]:
    """The API's routes under /api/v1; the log names a route with "{}" for its parameter."""
    limits = Limits()
    return [(f"{PREFIX}{path}$", _Endpoint,
             {"hub": hub, "ops": ops, "route": path.replace(_SEGMENT, "{}"), "limits": limits})
            for path, ops in ROUTES]


def make_app(hub: EscalationHub, extra: list[tuple] = ()) -> Application:
    """The API, and ``extra`` routes served beside it (the workspace's page and live feed)."""
    return Application(api_handlers(hub) + list(extra), default_handler_class=_NotFound,
                       log_function=_log_request, websocket_ping_interval=20,
                       websocket_ping_timeout=20)


async def serve(app: Application, port: int, address: str = "127.0.0.1") -> None:
    """Serve until cancelled. Plain HTTP on loopback: TLS is the reverse proxy's job."""
    # Bodies over MAX_BODY get a 413 before being read; this caps chunked ones too.
    # xheaders: the client's address comes from the reverse proxy's X-Real-IP /
    # X-Forwarded-For; the API listens on loopback only, so only the proxy can set them.
    server = HTTPServer(app, max_body_size=16 * MAX_BODY, body_timeout=60, xheaders=True)
    server.listen(port, address=address)
    log.info("counselor API listening on %s:%d%s", address, port, PREFIX)
    try:
        await asyncio.Event().wait()
    finally:
        server.stop()


async def serve_api(hub: EscalationHub, port: int, address: str = "127.0.0.1") -> None:
    await serve(make_app(hub), port, address)
