"""Authentication: request headers (or API Gateway's authorizer context) to a ``Caller``.

The HTTP layer passes the request headers as a plain dict and, when present, API Gateway's
``requestContext.authorizer`` dict. Order of precedence:

1. ``trust_authorizer`` on and a non-empty authorizer context: the caller comes from its claims
   (credential headers are then ignored). ``trust_authorizer`` off: the context is ignored.
2. ``X-OpenIDM-Username`` or ``X-OpenIDM-Password`` present: both are required and non-empty;
   values may be RFC 5987 encoded (``UTF-8''%E2%82%AC``).
3. ``Authorization: Basic <base64 user:password>``.
4. Nothing: 401.

Every failure is ``Unauthorized()`` (401 ``Access Denied``), without saying which part failed.

Verified credentials are cached per container (``CredentialCache``) for ``cache_seconds``, keyed
by an HMAC of user and password under a per-process random secret, so a password hash is not
recomputed on every request and no plain password is kept. Failures are never cached.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote_to_bytes

from ..clock import Clock
from ..errors import Unauthorized
from .caller import Caller, CallerSource
from .users import UserStore

__all__ = [
    "USERNAME_HEADER",
    "PASSWORD_HEADER",
    "AUTHORIZATION_HEADER",
    "DEFAULT_CACHE_SIZE",
    "USER_ID_CLAIMS",
    "ROLE_CLAIMS",
    "GROUP_CLAIMS",
    "CredentialCache",
    "Authenticator",
    "decode_rfc5987",
    "parse_basic",
    "caller_from_authorizer",
]

USERNAME_HEADER = "x-openidm-username"
PASSWORD_HEADER = "x-openidm-password"
AUTHORIZATION_HEADER = "authorization"
DEFAULT_CACHE_SIZE = 1_000

#: Claims tried, in this order, for the caller's user id. Human usernames come first because task
#: assignees and candidate users in BPMN files are usernames; ``sub`` (Cognito's immutable UUID)
#: next; a Lambda authorizer's ``principalId`` last.
USER_ID_CLAIMS = ("username", "cognito:username", "sub", "principalId")
#: Claims whose values are unioned into the caller's roles.
ROLE_CLAIMS = ("roles", "custom:roles")
#: Claims whose values are unioned into the caller's groups.
GROUP_CLAIMS = ("cognito:groups", "groups")

# RFC 5987 ext-value: charset "'" [ language ] "'" value-chars
_RFC5987 = re.compile(
    r"^(?P<charset>[A-Za-z0-9!#$%&+^_`{}~-]+)'(?P<lang>[A-Za-z0-9-]*)'"
    r"(?P<value>.*)$",
    re.DOTALL,
)
_RFC5987_CHARSETS = {"utf-8": "utf-8", "iso-8859-1": "latin-1"}
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_LIST_SPLIT = re.compile(r"[,\s]+")


def decode_rfc5987(value: str) -> str:
    """Decode an RFC 5987 ``charset'lang'%XX..`` header value; other values are returned as is.

    Only the charsets RFC 5987 requires (UTF-8, ISO-8859-1) are decoded; a value naming another
    charset is taken literally. A malformed escape or invalid bytes raise ``ValueError``.
    """
    match = _RFC5987.match(value)
    if not match:
        return value
    encoding = _RFC5987_CHARSETS.get(match["charset"].lower())
    if encoding is None:
        return value
    encoded = match["value"]
    if _PERCENT.search(encoded):
        raise ValueError("malformed percent-encoding")
    return unquote_to_bytes(encoded).decode(encoding)  # UnicodeDecodeError is a ValueError


def parse_basic(authorization: str) -> tuple[str, str] | None:
    """``(username, password)`` from an ``Authorization: Basic`` value.

    None when the scheme is not Basic; ``ValueError`` when it is Basic but malformed. The decoded
    bytes are read as UTF-8, falling back to ISO-8859-1 (what older clients send).
    """
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    token = token.strip()
    try:
        raw = base64.b64decode(token.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("malformed Basic credentials") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    username, colon, password = text.partition(":")
    if not colon:
        raise ValueError("malformed Basic credentials")
    return username, password


def _claim_values(value: Any) -> list[str]:
    """A list claim as strings: a JSON list, ``"[a b]"`` (API Gateway), ``"a,b"`` or ``"a b"``."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return _claim_values(parsed)
        text = text.strip("[]")
    return [item for item in _LIST_SPLIT.split(text) if item]


def caller_from_authorizer(
    authorizer: Mapping[str, Any], default_roles: frozenset[str] = frozenset()
) -> Caller | None:
    """Map an API Gateway authorizer context to a caller; None when it names no user.

    Claims are read from ``claims`` (Cognito user pool authorizer), ``jwt.claims`` (HTTP API JWT
    authorizer) or the context itself (Lambda authorizer). User id: the first non-empty of
    ``USER_ID_CLAIMS`` in the claims, then ``principalId`` of the context. Roles: the union of
    ``ROLE_CLAIMS`` plus ``default_roles``; groups: the union of ``GROUP_CLAIMS``.
    """
    claims: Any = authorizer.get("claims")
    if not isinstance(claims, Mapping):
        jwt = authorizer.get("jwt")
        claims = jwt.get("claims") if isinstance(jwt, Mapping) else None
    if not isinstance(claims, Mapping):
        claims = authorizer
    user_id = None
    for source in (claims, authorizer):
        for name in USER_ID_CLAIMS:
            value = source.get(name)
            if isinstance(value, str) and value.strip():
                user_id = value.strip()
                break
        if user_id:
            break
    if not user_id:
        return None
    roles = {role for name in ROLE_CLAIMS for role in _claim_values(claims.get(name))}
    groups = {group for name in GROUP_CLAIMS for group in _claim_values(claims.get(name))}
    return Caller(
        user_id, frozenset(roles) | default_roles, frozenset(groups), CallerSource.AUTHORIZER
    )


class CredentialCache:
    """Verified credentials of this container: HMAC key -> (caller, expiry), LRU-bounded.

    The key is ``HMAC-SHA256(secret, username + "\\0" + password)`` under a random secret made
    per instance (so per process), so neither the password nor an offline-attackable hash of it
    is kept. Thread-safe.
    """

    def __init__(self, *, ttl_seconds: float, clock: Clock, max_entries: int = DEFAULT_CACHE_SIZE):
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._ttl = timedelta(seconds=ttl_seconds)
        self._clock = clock
        self._max = max_entries
        self._secret = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, tuple[Caller, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """False when the time to live is zero: nothing is stored."""
        return self._ttl > timedelta(0)

    def key(self, username: str, password: str) -> bytes:
        """The cache key of a username and password."""
        message = (username + "\x00" + password).encode("utf-8", "surrogatepass")
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def get(self, username: str, password: str) -> Caller | None:
        """The cached caller for these credentials, or None (missing or expired)."""
        if not self.enabled:
            return None
        key = self.key(username, password)
        now = self._clock.now()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            caller, expires = entry
            if now >= expires:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
        # Defence in depth: the key covers the username, but make sure.
        return caller if caller.user_id == username else None

    def put(self, username: str, password: str, caller: Caller) -> None:
        """Remember verified credentials for the time to live; evicts the least recently used."""
        if not self.enabled:
            return
        key = self.key(username, password)
        expires = self._clock.now() + self._ttl
        with self._lock:
            self._entries[key] = (caller, expires)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _normalise(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    if not headers:
        return {}
    return {str(name).lower(): value for name, value in headers.items()}


class Authenticator:
    """Turns a request's headers (and authorizer context) into a ``Caller``, or 401."""

    def __init__(
        self,
        user_store: UserStore,
        *,
        cache_seconds: float,
        clock: Clock,
        trust_authorizer: bool,
        cache_size: int = DEFAULT_CACHE_SIZE,
        authorizer_default_roles: frozenset[str] = frozenset(),
    ):
        self.user_store = user_store
        self.trust_authorizer = trust_authorizer
        self.authorizer_default_roles = frozenset(authorizer_default_roles)
        self.cache = CredentialCache(ttl_seconds=cache_seconds, clock=clock, max_entries=cache_size)

    def authenticate(
        self, headers: Mapping[str, Any] | None, authorizer: Mapping[str, Any] | None = None
    ) -> Caller:
        """The caller of a request; ``Unauthorized`` when it proves no identity."""
        if self.trust_authorizer and authorizer:
            caller = caller_from_authorizer(authorizer, self.authorizer_default_roles)
            if caller is None:
                raise Unauthorized()
            return caller
        normalised = _normalise(headers)
        if USERNAME_HEADER in normalised or PASSWORD_HEADER in normalised:
            username = self._header(normalised, USERNAME_HEADER)
            password = self._header(normalised, PASSWORD_HEADER)
            return self.verify(username, password, CallerSource.HEADERS)
        authorization = normalised.get(AUTHORIZATION_HEADER)
        if isinstance(authorization, str):
            try:
                credentials = parse_basic(authorization)
            except ValueError:
                raise Unauthorized() from None
            if credentials is not None:
                return self.verify(*credentials, CallerSource.BASIC)
        raise Unauthorized()

    @staticmethod
    def _header(headers: Mapping[str, Any], name: str) -> str:
        value = headers.get(name)
        if not isinstance(value, str) or not value:
            raise Unauthorized()
        try:
            return decode_rfc5987(value)
        except ValueError:
            raise Unauthorized() from None

    def verify(self, username: str, password: str, source: CallerSource) -> Caller:
        """Check a username and password (cache first); ``Unauthorized`` when wrong."""
        if not username or not password:
            raise Unauthorized()
        cached = self.cache.get(username, password)
        if cached is not None:
            return cached if cached.source is source else replace(cached, source=source)
        user = self.user_store.check(username, password)
        if user is None:
            raise Unauthorized()
        caller = user.caller(source)
        self.cache.put(username, password, caller)
        return caller
