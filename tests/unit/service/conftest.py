"""Service-level tests run on the in-memory store: here ``container`` is ``memory_container``
(installed for the workers' entry points too). DynamoDB specifics stay in ``tests/functional/``
and ``tests/contract/`` over moto."""

from __future__ import annotations

import pytest


@pytest.fixture
def container(memory_container):
    """The memory container; moto is not started."""
    return memory_container


@pytest.fixture(autouse=True)
def _no_moto(request):
    """A test here that asks for moto (or the HTTP client over it) belongs in
    ``tests/functional/``."""
    asked = {"moto_backend", "client", "user_client", "users_client"} & set(request.fixturenames)
    assert not asked, f"service tests run on the memory store; {sorted(asked)} need moto"
