"""The local HTTP server's own answers, as CREST JSON envelopes (what ``make run`` serves).

Chalice's local server answers some requests before the app runs: a path no route serves
(403 ``Missing Authentication Token``, or with an ``Authorization`` header a 403 that echoes it),
and, from Python's ``http.server``, malformed requests, header lines over 64 KB and too many
headers (HTML pages: 400, 414, 431, 501). Here every one of them is a CREST envelope
``{"code", "reason", "message"}`` with a fixed message that echoes nothing the caller sent, and
is logged like every request (method, path without the query, status, time, request id).

The header fields together are limited to ``MAX_HEADER_BYTES`` (API Gateway's limit for the
request line and headers of REST APIs): more is a 431 before anything runs. The request line
keeps ``http.server``'s own limit (64 KB, a 414), so long query strings still reach the app.
"""

from __future__ import annotations

import json
import logging
import socket
import time
import uuid
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

from ..api.errors import REASONS

__all__ = ["MAX_HEADER_BYTES", "handler_class"]

log = logging.getLogger("workflow.local")

#: header names and values, in bytes (API Gateway REST APIs: 10,240 with the request line)
MAX_HEADER_BYTES = 10_240
#: after an early error, how much of what the caller is still sending is read and dropped (so
#: it reads the answer instead of a connection reset), and for how long
DRAIN_BYTES = 4 * 1024 * 1024
DRAIN_SECONDS = 1.0

_MESSAGES = {
    400: "The request is not valid HTTP",
    404: "The requested resource was not found",
    414: "The request line is too long",
    431: f"The request's header fields are larger than {MAX_HEADER_BYTES} bytes",
    501: "The request method is not supported",
}


def envelope(code: int) -> bytes:
    """The CREST error body for ``code``, with a fixed message."""
    reason = REASONS.get(code) or _phrase(code)
    message = _MESSAGES.get(code, reason)
    return json.dumps({"code": code, "reason": reason, "message": message}).encode()


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def handler_class(app: Any) -> type:
    """The request handler class for ``LocalDevServer``, serving ``app``."""
    from chalice.local import ChaliceRequestHandler, RouteMatcher

    routes = RouteMatcher(list(app.routes))

    class LocalHandler(ChaliceRequestHandler):
        """Chalice's handler, with CREST envelopes for what it would answer itself."""

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return  # the app logs one line per request itself; send_envelope logs the others

        def parse_request(self) -> bool:
            self.started = time.perf_counter()
            if not super().parse_request():
                return False
            size = sum(len(name) + len(value) + 4 for name, value in self.headers.items())
            if size > MAX_HEADER_BYTES:
                self.send_error(431)
                return False
            return True

        def send_error(self, code: int, message: str | None = None, explain: str | None = None):
            """An error ``http.server`` raises itself (400, 414, 431, 501): a CREST envelope,
            and the rest of what the caller sends is dropped."""
            self.close_connection = True
            if getattr(self, "request_version", "") == "HTTP/0.9":  # unparsed: answer in HTTP/1.0
                self.request_version = "HTTP/1.0"
            self.send_envelope(code)
            self._drain()

        def _generic_handle(self) -> None:
            try:
                routes.match_route(self.path)
            except ValueError:  # outside the API: no route, nothing echoed
                self.close_connection = True  # the body (if any) is not read
                self.send_envelope(404)
                self._drain()
                return
            super()._generic_handle()

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

        def send_envelope(self, code: int) -> None:
            """Answer ``code`` with its envelope, logged (before it leaves) like the app's."""
            started = getattr(self, "started", None) or time.perf_counter()
            body = envelope(code)
            correlation = uuid.uuid4().hex
            log.info(
                "%s %s %d %.1fms [%s]",
                getattr(self, "command", None) or "-",
                _logged_path(getattr(self, "path", "")),
                code,
                (time.perf_counter() - started) * 1000,
                correlation,
            )
            self.send_response_only(code)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Request-Id", correlation)
            self.send_header("Cache-Control", "no-cache")
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if getattr(self, "command", None) != "HEAD":
                self.wfile.write(body)

        def _drain(self) -> None:
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)
                self.connection.settimeout(DRAIN_SECONDS)
                deadline, read = time.monotonic() + DRAIN_SECONDS, 0
                while read < DRAIN_BYTES and time.monotonic() < deadline:
                    chunk = self.connection.recv(65536)
                    if not chunk:
                        break
                    read += len(chunk)
            except OSError:
                pass

    return LocalHandler


def _logged_path(target: str) -> str:
    """The path of a request target, without its query, printable and bounded."""
    try:
        path = unquote(urlsplit(target).path) if target else "-"
    except ValueError:
        path = "?"
    path = "".join(ch if ch.isprintable() else "?" for ch in path)
    return path if len(path) <= 200 else path[:200] + "..."
