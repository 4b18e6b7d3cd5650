"""A stand-in for the provisioning system the ``contractorOnboarding`` sample calls (local runs
only): ``POST /accounts`` with a JSON object and ``Authorization: Bearer <token>`` stores it and
answers 201 with the stored account (an ``_id`` added); ``GET /accounts`` lists them. A wrong or
missing token is a 401, a body that is not a JSON object a 400.

``make run`` starts it on ``WORKFLOW_LOCAL_DEMO_API_PORT`` (default 8025, 0: not started), with
the token of ``WORKFLOW_HTTP_SECRET_PROVISIONING``; the sample's HTTP task sends that secret as
``{{secret:PROVISIONING}}``. Lambda never imports this module.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["DemoApi"]

#: the largest request body the stand-in reads
MAX_BODY = 64 * 1024


class DemoApi:
    """The stand-in provisioning API on ``host:port`` (port 0: any free one)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str | None = None):
        self.token = token
        self.accounts: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="local-demo-api"
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> DemoApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _store(self, account: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            stored = {**account, "_id": f"acct-{len(self.accounts) + 1}"}
            self.accounts.append(stored)
            return stored

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/") != "/accounts":
                    return self._answer(404, {"message": "not found"})
                with api._lock:
                    self._answer(200, {"result": list(api.accounts)})

            def do_POST(self) -> None:
                if self.path.rstrip("/") != "/accounts":
                    return self._answer(404, {"message": "not found"})
                if api.token and self.headers.get("Authorization") != f"Bearer {api.token}":
                    return self._answer(401, {"message": "bad or missing bearer token"})
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    return self._answer(413, {"message": "body too large"})
                try:
                    account = json.loads(self.rfile.read(length) or b"null")
                except ValueError:
                    account = None
                if not isinstance(account, dict):
                    return self._answer(400, {"message": "the body must be a JSON object"})
                self._answer(201, api._store(account))

        return Handler
