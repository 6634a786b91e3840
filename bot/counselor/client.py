"""A small synchronous client for the counselors' API (`/api/v1`), one method per call."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

import httpx

PREFIX = "/api/v1"
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class ApiError(Exception):
    """A refused or failed call: ``status`` 0 means the server could not be reached."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def check_server_url(url: str) -> str:
    """HTTPS only, except to this machine (tests, or a tunnel to the server)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("not an http(s) URL")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise ValueError("plain http is only allowed to this machine")
    return url.strip().rstrip("/")


def _segment(value: str) -> str:
    return quote(value, safe="")


class ApiClient:
    def __init__(self, server: str, token: str | None = None, timeout: float = 20.0,
                 transport: httpx.BaseTransport | None = None):
        self.token = token
        self._http = httpx.Client(base_url=server.rstrip("/") + PREFIX, timeout=timeout,
                                  transport=transport, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def _call(self, method: str, path: str, body: dict | None = None,
              params: dict | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = self._http.request(method, path, json=body, params=params,
                                          headers=headers)
        except httpx.HTTPError as exc:
            raise ApiError(0, "network", type(exc).__name__) from None
        if response.status_code == 204:
            return None
        try:
            doc = response.json()
        except ValueError:
            raise ApiError(response.status_code, "bad_response", "not JSON") from None
        if response.is_error or not isinstance(doc, dict):
            doc = doc if isinstance(doc, dict) else {}
            raise ApiError(response.status_code, str(doc.get("error", "unknown")),
                           str(doc.get("message", "")))
        return doc

    # ----------------------------------------------------------------- enrolment and login

    def server(self) -> dict:
        return self._call("GET", "/server")

    def enrol(self, code: str, identity: dict, alias: str | None = None) -> dict:
        return self._call("POST", "/enrol", {"code": code, "identity": identity,
                                             "alias": alias})

    def challenge(self, key_id: str) -> str:
        return self._call("POST", "/auth/challenge", {"key_id": key_id})["nonce"]

    def login(self, key_id: str, nonce: str, signature: str) -> dict:
        return self._call("POST", "/auth/session",
                          {"key_id": key_id, "nonce": nonce, "signature": signature})

    def logout(self) -> None:
        self._call("DELETE", "/auth/session")

    # ----------------------------------------------------------------- oneself

    def me(self) -> dict:
        return self._call("GET", "/me")

    def set_notify(self, address: str | None) -> dict:
        return self._call("PUT", "/me/notify", {"address": address})

    def set_alias(self, alias: str) -> dict:
        return self._call("PUT", "/me/alias", {"alias": alias})

    def add_key(self, identity: dict) -> dict:
        return self._call("POST", "/me/keys", {"identity": identity})

    def keys(self, status: str | None = None, staff_id: str | None = None) -> list[dict]:
        params = {k: v for k, v in (("status", status), ("staff_id", staff_id)) if v}
        return self._call("GET", "/keys", params=params or None)["keys"]

    # ----------------------------------------------------------------- cases

    def queue(self) -> list[dict]:
        return self._call("GET", "/cases")["cases"]

    def claim(self, code: str) -> dict:
        return self._call("POST", f"/cases/{_segment(code)}/claim")

    def read(self, code: str) -> dict:
        return self._call("GET", f"/cases/{_segment(code)}")

    def share(self, code: str, shares: list[dict]) -> int:
        return int(self._call("POST", f"/cases/{_segment(code)}/shares",
                              {"shares": shares})["added"])

    def reply(self, code: str, text: str) -> bool:
        return bool(self._call("POST", f"/cases/{_segment(code)}/messages",
                               {"text": text})["delivered"])

    def close_case(self, code: str, outcome: str, referred_to: str | None = None) -> dict:
        body = {"outcome": outcome, "referred_to": referred_to}
        return self._call("POST", f"/cases/{_segment(code)}/close", body)

    # ----------------------------------------------------------------- admin

    def invite(self, display_name: str, role: str) -> dict:
        return self._call("POST", "/admin/staff", {"display_name": display_name, "role": role})

    def approve(self, key_id: str, signature: str, retire: list[dict]) -> dict:
        return self._call("POST", f"/admin/keys/{_segment(key_id)}/approval",
                          {"signature": signature, "retire": retire})

    def remove(self, staff_id: str, revocations: list[dict]) -> None:
        self._call("POST", f"/admin/staff/{_segment(staff_id)}/removal",
                   {"revocations": revocations})

    def audit(self, limit: int = 200) -> list[dict]:
        return self._call("GET", "/admin/audit", params={"limit": limit})["events"]
