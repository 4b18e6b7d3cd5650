"""The user store: users, salted password hashes, roles and groups, loaded from a JSON file.

File format (the setting ``WORKFLOW_USERS_FILE`` names it)::

    {"users": [{"username": "alice",
                "password": "pbkdf2_sha256$600000$<salt>$<base64 hash>",
                "roles": ["internal/role/openidm-authorized"],
                "groups": ["finance"]}]}

``username``, ``password`` and ``roles`` are required, ``groups`` is optional (default none).
Any other field is refused, so a typo such as ``"role"`` cannot silently leave a user without
rights. A password that is not a ``pbkdf2_sha256`` hash (plain text, say) is refused: generate
hashes with ``python -m chalicelib.auth.passwords``. Every problem raises ``UsersFileError``
(a ``SettingsError``) naming the file, the user and the field, never the password.

``chalicelib/auth/local-users.json`` is the built-in store for the local stage only:
``openidm-admin``/``openidm-admin`` and ``anonymous``/``anonymous``, hashed with 100,000
iterations (fewer than ``DEFAULT_ITERATIONS`` so the first request of a local run is quick).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..settings import Settings, SettingsError
from .caller import Caller, CallerSource
from .passwords import DEFAULT_ITERATIONS, parse_password_hash, verify_password

__all__ = ["BUILTIN_USERS_FILE", "UsersFileError", "User", "UserStore", "load_user_store"]

BUILTIN_USERS_FILE = Path(__file__).with_name("local-users.json")

_REQUIRED = ("username", "password", "roles")
_OPTIONAL = ("groups",)

Verifier = Callable[[str, str], bool]


class UsersFileError(SettingsError):
    """The users file is missing, unreadable or invalid: a deployment fault, reported loudly."""


@dataclass(frozen=True)
class User:
    """One user of the store. ``password_hash`` is a ``pbkdf2_sha256$...`` encoding."""

    username: str
    password_hash: str
    roles: frozenset[str]
    groups: frozenset[str]

    def __repr__(self) -> str:  # keep hashes out of logs and tracebacks
        return (
            f"User(username={self.username!r}, roles={sorted(self.roles)!r}, "
            f"groups={sorted(self.groups)!r})"
        )

    def caller(self, source: CallerSource) -> Caller:
        """This user as the caller of a request that arrived via ``source``."""
        return Caller(self.username, self.roles, self.groups, source)


def _strings(value: Any, where: str, field: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise UsersFileError(f"{where}: field '{field}' must be a list of non-empty strings")
    return frozenset(value)


def _user_from_entry(entry: Any, index: int, source: str) -> User:
    if not isinstance(entry, dict):
        raise UsersFileError(f"Users file {source}: users[{index}] must be an object")
    username = entry.get("username")
    if not isinstance(username, str) or not username.strip():
        raise UsersFileError(
            f"Users file {source}: users[{index}] field 'username' is missing or not a "
            f"non-empty string"
        )
    where = f"Users file {source}: user '{username}'"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in username):
        raise UsersFileError(f"{where}: field 'username' must not contain control characters")
    for field in _REQUIRED:
        if field not in entry:
            raise UsersFileError(f"{where}: field '{field}' is required")
    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise UsersFileError(f"{where}: unknown field(s) {', '.join(repr(u) for u in unknown)}")
    password = entry["password"]
    try:
        parse_password_hash(password)
    except ValueError as exc:
        raise UsersFileError(
            f"{where}: field 'password' must be a pbkdf2_sha256 hash, never plain text "
            f"({exc}; generate one with `python -m chalicelib.auth.passwords`)"
        ) from None
    return User(
        username,
        password,
        _strings(entry["roles"], where, "roles"),
        _strings(entry.get("groups", []), where, "groups"),
    )


class UserStore:
    """Users by name, and the one place a password is checked against its hash."""

    def __init__(
        self, users: Iterable[User], *, verify: Verifier = verify_password, source: str = "<memory>"
    ):
        self._users: dict[str, User] = {}
        for user in users:
            if user.username in self._users:
                raise UsersFileError(f"Users file {source}: duplicate username '{user.username}'")
            self._users[user.username] = user
        self._verify = verify
        self.source = source
        # Unknown users are checked against a hash of the same cost, so the response time does
        # not tell which usernames exist.
        iterations = max(
            (parse_password_hash(u.password_hash).iterations for u in self._users.values()),
            default=DEFAULT_ITERATIONS,
        )
        self._decoy = f"pbkdf2_sha256${iterations}$decoy${'A' * 43}="

    @classmethod
    def from_dict(
        cls, data: Any, *, source: str = "<memory>", verify: Verifier = verify_password
    ) -> UserStore:
        """Build from the parsed JSON document; ``UsersFileError`` when invalid."""
        if not isinstance(data, dict) or not isinstance(data.get("users"), list):
            raise UsersFileError(f'Users file {source}: expected {{"users": [...]}}')
        unknown = sorted(set(data) - {"users"})
        if unknown:
            raise UsersFileError(
                f"Users file {source}: unknown top-level field(s) "
                f"{', '.join(repr(u) for u in unknown)}"
            )
        users = [_user_from_entry(entry, i, source) for i, entry in enumerate(data["users"])]
        return cls(users, verify=verify, source=source)

    @classmethod
    def from_file(cls, path: str | Path, *, verify: Verifier = verify_password) -> UserStore:
        """Load and validate a users file; ``UsersFileError`` when unreadable or invalid."""
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsersFileError(f"Users file {source} cannot be read: {exc}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsersFileError(f"Users file {source} is not valid JSON: {exc}") from None
        return cls.from_dict(data, source=source, verify=verify)

    @classmethod
    def from_settings(cls, settings: Settings, *, verify: Verifier = verify_password) -> UserStore:
        """Same as ``load_user_store(settings)``."""
        return load_user_store(settings, verify=verify)

    def __len__(self) -> int:
        return len(self._users)

    def __contains__(self, username: object) -> bool:
        return username in self._users

    def get(self, username: str) -> User | None:
        """The user named ``username`` (exact, case-sensitive), or None."""
        return self._users.get(username)

    def check(self, username: str, password: str) -> User | None:
        """The user when ``password`` is theirs, else None. Costs one password hash either way."""
        user = self._users.get(username)
        if user is None:
            self._verify(password, self._decoy)
            return None
        return user if self._verify(password, user.password_hash) else None


def load_user_store(settings: Settings, *, verify: Verifier = verify_password) -> UserStore:
    """The store the settings call for (``users_file``, ``is_local``, ``stage``).

    ``WORKFLOW_USERS_FILE`` set: that file. Not set: the built-in local file on the local stage,
    no users on a stage that trusts the authorizer (``trust_authorizer``), and a
    ``UsersFileError`` on any other stage (a deployed stage never has a default password).
    """
    if settings.users_file:
        return UserStore.from_file(settings.users_file, verify=verify)
    if settings.is_local:
        return UserStore.from_file(BUILTIN_USERS_FILE, verify=verify)
    if settings.trust_authorizer:  # callers come from the authorizer's claims only
        return UserStore((), verify=verify, source="<authorizer only>")
    raise UsersFileError(
        f"Setting WORKFLOW_USERS_FILE is required on stage '{settings.stage}': a deployed stage "
        f"never has a default password (the built-in users are for the local stage only)"
    )
