"""Shared fixtures for the auth unit tests: small users files hashed with few iterations."""

from __future__ import annotations

import json

import pytest

from chalicelib.auth.users import UserStore
from tests.support.auth import USERS_DOC, CountingVerifier


@pytest.fixture
def verifier():
    return CountingVerifier()


@pytest.fixture
def store(verifier):
    return UserStore.from_dict(json.loads(json.dumps(USERS_DOC)), verify=verifier)


@pytest.fixture
def write_json(tmp_path):
    def write(data, name="file.json"):
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
        return path

    return write
