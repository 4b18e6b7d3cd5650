"""The HTTP client of HTTP tasks: one guarded request, standard library only.

Every target (the first URL and each redirect) passes two checks before a byte is sent:

1. the URL starts with a prefix of ``WORKFLOW_HTTP_ALLOW`` (``action_checks.allowed_prefix``);
2. its host resolves to addresses that are all public (``ipaddress``'s ``is_global``): a
   loopback, link-local, private, shared, multicast, unspecified or reserved address is
   refused, unless the allow-list entry that matched names that very address as its host
   (``http://127.0.0.1:8080/`` lets the task call 127.0.0.1:8080; a *name* resolving to a
   private address is refused, so a public name re-pointed inward cannot reach the VPC). The
   instance metadata addresses (169.254.169.254, fd00:ec2::254) are refused whatever the list.

The connection goes to the address that was checked (resolved once: no second lookup can
rebind the name), with the name in the ``Host`` header and as the TLS server name. Redirects
are never followed by the library: when the task allows them, at most :data:`MAX_REDIRECTS` are
followed here, each target checked again; headers that carried a secret (and
``Authorization``/``Cookie``) are dropped when a redirect leaves the origin. The timeout bounds
the connection, every read and the whole exchange; a body past the size cap stops the read.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urljoin, urlsplit

from .outcome import ActionFailed

__all__ = [
    "MAX_REDIRECTS",
    "Request",
    "Response",
    "Target",
    "check_target",
    "send",
]

MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 65536
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
#: dropped from a redirect to another origin, with every header that carried a secret
_CREDENTIAL_HEADERS = {"authorization", "cookie", "proxy-authorization"}
_FRAMING_HEADERS = {"content-length", "transfer-encoding"}

Resolver = Callable[..., Sequence[tuple]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Request:
    """What to send. ``headers`` hold the values to send (secrets resolved); ``secret_headers``
    names (lower case) those that carried a secret."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    timeout: float = 10.0
    follow_redirects: bool = True
    secret_headers: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Response:
    """What came back (the last response when redirects were followed)."""

    status: int
    reason: str
    protocol: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    url: str

    def text(self) -> str:
        """The body decoded with the ``Content-Type`` charset, else UTF-8."""
        charset = "utf-8"
        for name, value in self.headers:
            if name.lower() == "content-type" and "charset=" in value.lower():
                charset = value.lower().split("charset=", 1)[1].split(";")[0].strip(' "')
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    def headers_text(self) -> str:
        """Flowable's ``HttpHeaders.formatAsString``: ``Name: value`` lines."""
        return "\n".join(f"{name}: {value}" for name, value in self.headers)


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: where to connect and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    address: str

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host.lower(), self.port)


def _unmapped(address: Address) -> Address:
    """An IPv4-mapped IPv6 address as the IPv4 address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _literal(host: str | None) -> Address | None:
    try:
        return _unmapped(ipaddress.ip_address(host or ""))
    except ValueError:
        return None


def _refusal(address: Address) -> str | None:
    """Why ``address`` may not be called without being named, or None if it is public."""
    address = _unmapped(address)
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not public", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def check_target(url: str, allow: Sequence[str], resolve: Resolver = socket.getaddrinfo) -> Target:
    """The checked target of ``url`` (see the module doc); ``ActionFailed`` naming the URL and
    the reason when it is refused."""
    from ..definitions.action_checks import allowed_prefix  # the engine's model: lazily

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ActionFailed(f"requestUrl '{url}' is not an http(s) URL")
    prefix = allowed_prefix(url, allow)
    if prefix is None:
        raise ActionFailed(f"requestUrl '{url}' is not under any prefix of WORKFLOW_HTTP_ALLOW")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ActionFailed(f"requestUrl '{url}' has an invalid port") from None
    host = parts.hostname
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ActionFailed(f"requestUrl '{url}': host {host} cannot be resolved ({exc})") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise ActionFailed(f"requestUrl '{url}': host {host} has no address")
    named = _literal(urlsplit(prefix).hostname)
    for address in map(_unmapped, addresses):
        if address in _METADATA:
            raise ActionFailed(
                f"requestUrl '{url}': {address} is the instance metadata address (never called)"
            )
        reason = _refusal(address)
        if reason and address != named:
            raise ActionFailed(
                f"requestUrl '{url}': host {host} resolves to {address}, a {reason} address "
                "(only called when a WORKFLOW_HTTP_ALLOW entry names that address)"
            )
    # Flowable's createUri: a space and a plus sign are sent encoded (%20, %2B)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    path = path.replace(" ", "%20").replace("+", "%2B")
    return Target(parts.scheme, host, port, path, str(addresses[0]))


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to a checked address, the name kept for the ``Host`` header."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to a checked address; the certificate is checked against the name."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def _read(response: http.client.HTTPResponse, limit: int, deadline: float, url: str) -> bytes:
    length = response.getheader("Content-Length")
    if length and length.isdigit() and int(length) > limit:
        raise ActionFailed(
            f"{url}: the response body ({length} bytes) is larger than "
            f"WORKFLOW_HTTP_MAX_RESPONSE_BYTES ({limit})"
        )
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise ActionFailed(f"{url}: timed out reading the response")
        chunk = response.read1(_CHUNK) if hasattr(response, "read1") else response.read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise ActionFailed(
                f"{url}: the response body is larger than "
                f"WORKFLOW_HTTP_MAX_RESPONSE_BYTES ({limit} bytes)"
            )
        chunks.append(chunk)


def _exchange(request: Request, target: Target, limit: int, deadline: float) -> Response:
    remaining = max(0.001, deadline - time.monotonic())
    timeout = min(request.timeout, remaining)
    connection_type = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    connection = connection_type(target, timeout)
    where = f"{request.method} {request.url}"
    try:
        # a Host header of the task's own only names a virtual host of the checked address
        own_host = any(n.lower() == "host" for n, _ in request.headers)
        connection.putrequest(
            request.method, target.path, skip_host=own_host, skip_accept_encoding=True
        )
        for name, value in request.headers:
            if name.lower() not in _FRAMING_HEADERS:  # the body's framing is ours to say
                connection.putheader(name, value)
        if request.body is not None:
            connection.putheader("Content-Length", str(len(request.body)))
        connection.endheaders(request.body)
        response = connection.getresponse()
        body = _read(response, limit, deadline, where)
        return Response(
            status=response.status,
            reason=response.reason or "",
            protocol="HTTP/1.0" if response.version == 10 else "HTTP/1.1",
            headers=tuple(response.getheaders()),
            body=body,
            url=request.url,
        )
    except ActionFailed:
        raise
    except TimeoutError:
        raise ActionFailed(f"{where}: timed out after {request.timeout:g} s") from None
    except (OSError, http.client.HTTPException) as exc:
        raise ActionFailed(f"{where}: {type(exc).__name__}: {exc or 'connection failed'}") from None
    except ValueError:
        # the message of an invalid header repeats its value (maybe a secret): never show it
        raise ActionFailed(f"{where}: invalid request header or URL") from None
    finally:
        connection.close()


def _redirected(request: Request, response: Response, target: Target) -> Request | None:
    """The request a redirect asks for, like Apache's ``DefaultRedirectStrategy`` (Flowable's
    client): 303 becomes a GET, the other redirects are followed by GET only; None if not."""
    location = next((v for n, v in response.headers if n.lower() == "location"), None)
    if response.status not in _REDIRECTS or not location:
        return None
    if response.status != 303 and request.method != "GET":
        return None
    url = urljoin(request.url, location.strip())
    headers = request.headers
    if request.method != "GET":
        headers = tuple(
            (n, v) for n, v in headers if n.lower() not in ("content-length", "content-type")
        )
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = -1
    if (parts.scheme, (parts.hostname or "").lower(), port) != target.origin:
        dropped = request.secret_headers | _CREDENTIAL_HEADERS | {"host"}
        headers = tuple((n, v) for n, v in headers if n.lower() not in dropped)
    return replace(request, url=url, method="GET", body=None, headers=headers)


def send(
    request: Request,
    allow: Sequence[str],
    max_bytes: int,
    resolve: Resolver = socket.getaddrinfo,
) -> Response:
    """Send ``request`` once (following allowed redirects, see the module doc); the final
    response, whatever its status. ``ActionFailed`` when refused, unreachable, too slow or too
    large."""
    deadline = time.monotonic() + request.timeout
    for _ in range(MAX_REDIRECTS + 1):
        target = check_target(request.url, allow, resolve)
        response = _exchange(request, target, max_bytes, deadline)
        following = _redirected(request, response, target) if request.follow_redirects else None
        if following is None:
            return response
        request = following
    raise ActionFailed(f"{request.url}: more than {MAX_REDIRECTS} redirects")
