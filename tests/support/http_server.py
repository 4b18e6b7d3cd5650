"""A local HTTP server for the HTTP task tests: the paths of Flowable's
``HttpServiceTaskTestServer`` (``/api``, ``/test``, ``/hello``, ``/array-response``,
``/delete``) and a few of ours (``/redirect``, ``/big``, ``/echo``). Every request is recorded."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_REASONS = {400: "Bad Request", 500: "Server Error"}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LocalServer:
    port: int
    tls: bool = False
    received: list[Received] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def base(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, code: int, body: bytes = b"", reason: str | None = None, **headers) -> None:
        self.send_response(code, reason)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, data) -> None:
        self._send(code, json.dumps(data).encode() + b"\n", Content_Type="application/json")

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        args = parse_qs(parts.query, keep_blank_values=True)
        query = {k: v[0] for k, v in args.items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()}
        self.server.local.received.append(Received(self.command, self.path, headers, body))
        delay = int(query.get("delay", 0))
        if delay:
            self.server.local.stop.wait(delay / 1000)
        path = parts.path
        if path.startswith("/api"):
            self._api(int(query.get("code", 200)), args, headers, body)
        elif path == "/test":
            self._json(200, {"name": {"firstName": "John", "lastName": "Doe"}})
        elif path == "/hello":
            name = json.loads(body.decode("utf-8"))["name"]
            self._send(
                200,
                json.dumps(
                    {"result": f"Hello {name}"}, ensure_ascii=False, separators=(",", ":")
                ).encode()
                + b"\n",
                Content_Type="application/json;charset=utf-8",
            )
        elif path == "/array-response":
            data = {"total": 3, "data": [{"name": "abc"}, {"name": "def"}, {"name": "ghi"}]}
            self._json(200, data)
        elif path == "/delete":
            self._send(200)
        elif path == "/redirect":
            self._send(int(query.get("code", 302)), Location=query["to"])
        elif path == "/loop":
            self._send(302, Location="/loop")
        elif path == "/big":
            self._send(200, b"x" * int(query["n"]), Content_Type="text/plain")
        elif path == "/stream":
            # no Content-Length: the client must stop reading at its cap
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(int(query["n"])):
                self.wfile.write(b"y" * 1024)
        else:
            self._send(404)

    def _api(self, code: int, query, headers, body: bytes) -> None:
        if 200 <= code < 300:
            data = {
                "code": code,
                "url": f"http://{headers.get('Host')}{self.path}",
                "args": query,
                "headers": headers,
                "body": body.decode("utf-8"),
            }
            self._json(code, data)
        elif 300 <= code < 400:
            self._send(302, Location="http://www.flowable.org")
        elif self.command == "GET" and 400 <= code < 500:
            self._send(code)
        else:
            # Jetty's sendError: the message as the reason (the code itself when non-standard)
            self._send(code, reason=_REASONS.get(code // 100 * 100, str(code)))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    local: LocalServer


def serve(certificate: tuple[str, str] | None = None):
    """Start a server on 127.0.0.1 (a free port); a generator for a pytest fixture.
    ``certificate``: (certificate file, key file) to serve HTTPS."""
    server = _Server(("127.0.0.1", 0), _Handler)
    if certificate is not None:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certificate)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.local = LocalServer(server.server_address[1], tls=certificate is not None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.local
    finally:
        server.local.stop.set()
        server.shutdown()
        server.server_close()
