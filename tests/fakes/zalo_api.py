"""A local stand-in for the Zalo OA API: the send endpoint and token refresh.

Refresh tokens are single-use, as on Zalo; a send with a stale access token
answers Zalo's error -216 so the client's refresh path is exercised.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


class ZaloStandIn:
    def __init__(self, access: str = "access-1", refresh: str = "refresh-1",
                 app_secret: str = "app-secret"):
        self.access, self.refresh, self.app_secret = access, refresh, app_secret
        self.sent: list[dict] = []
        self.refreshes = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ZaloStandIn:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def expire_access_token(self) -> None:
        with self._lock:
            self.access = self.access + "-expired"

    def texts_to(self, user_id: str) -> list[str]:
        with self._lock:
            return [m["message"]["text"] for m in self.sent
                    if m["recipient"]["user_id"] == user_id]

    def _send(self, headers, body: bytes) -> dict:
        with self._lock:
            if headers.get("access_token") != self.access:
                return {"error": -216, "message": "Access token is invalid"}
            self.sent.append(json.loads(body))
            return {"error": 0, "message": "Success", "data": {"message_id": "m"}}

    def _refresh(self, headers, body: bytes) -> dict:
        form = dict(parse_qsl(body.decode()))
        with self._lock:
            if headers.get("secret_key") != self.app_secret or form.get(
                    "refresh_token") != self.refresh:
                return {"error": -14014, "error_name": "Invalid refresh token"}
            self.refreshes += 1
            self.access = f"access-{self.refreshes + 1}"
            self.refresh = f"refresh-{self.refreshes + 1}"  # the old one is used up
            return {"access_token": self.access, "refresh_token": self.refresh,
                    "expires_in": "90000"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls

            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/v3.0/oa/message/cs":
                    result = standin._send(self.headers, body)
                elif self.path == "/v4/oa/access_token":
                    result = standin._refresh(self.headers, body)
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(result).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        return Handler
