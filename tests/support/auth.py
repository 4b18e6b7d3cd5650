"""Helpers shared by the auth unit tests (a uniquely named module: no clash with other suites)."""

from __future__ import annotations

from chalicelib.auth.caller import ADMIN_ROLE, AUTHORIZED_ROLE, REG_ROLE
from chalicelib.auth.passwords import hash_password, verify_password

FAST = 1_000  # iterations for test hashes


def user_entry(username, password, roles, groups=None):
    entry = {
        "username": username,
        "password": hash_password(password, iterations=FAST),
        "roles": list(roles),
    }
    if groups is not None:
        entry["groups"] = list(groups)
    return entry


USERS_DOC = {
    "users": [
        user_entry("openidm-admin", "openidm-admin", [ADMIN_ROLE, AUTHORIZED_ROLE]),
        user_entry("alice", "alice-secret", [AUTHORIZED_ROLE, "employee"], ["finance"]),
        user_entry("bob", "bob-secret", [AUTHORIZED_ROLE], []),
        user_entry("anonymous", "anonymous", [REG_ROLE]),
        user_entry("jürgen", "pässwörd€", [AUTHORIZED_ROLE]),
    ]
}


class CountingVerifier:
    """``verify_password`` that counts how often a hash is computed."""

    def __init__(self):
        self.calls = 0

    def __call__(self, password, encoded):
        self.calls += 1
        return verify_password(password, encoded)
