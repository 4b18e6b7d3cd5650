"""chalicelib.auth.caller: the Caller value object."""

from __future__ import annotations

import dataclasses

import pytest

from chalicelib.auth.caller import (
    ADMIN_ROLE,
    AUTHORIZED_ROLE,
    REG_ROLE,
    Caller,
    CallerSource,
)


def test_roles_and_flags():
    admin = Caller("a", {ADMIN_ROLE, AUTHORIZED_ROLE}, [], CallerSource.HEADERS)
    user = Caller("u", [AUTHORIZED_ROLE], ["g"], CallerSource.BASIC)
    anon = Caller("anonymous", [REG_ROLE], [], CallerSource.HEADERS)
    assert admin.is_admin and admin.is_authorized
    assert not user.is_admin and user.is_authorized
    assert not anon.is_admin and not anon.is_authorized
    assert isinstance(user.roles, frozenset) and isinstance(user.groups, frozenset)


def test_authz_strings_is_roles_union_groups():
    caller = Caller("u", {"r1", "r2"}, {"g1", "r1"}, CallerSource.AUTHORIZER)
    assert caller.authz_strings == frozenset({"r1", "r2", "g1"})


def test_frozen_and_hashable():
    caller = Caller("u", {"r"}, set(), CallerSource.HEADERS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        caller.user_id = "v"  # type: ignore[misc]
    assert caller == Caller("u", ["r"], [], CallerSource.HEADERS)
    assert hash(caller) == hash(Caller("u", ["r"], [], CallerSource.HEADERS))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"user_id": ""},
        {"user_id": None},
        {"roles": "internal/role/openidm-admin"},
        {"groups": [1]},
        {"source": "headers"},
    ],
)
def test_invalid_callers_are_refused(kwargs):
    base = {"user_id": "u", "roles": [], "groups": [], "source": CallerSource.HEADERS}
    with pytest.raises(ValueError):
        Caller(**{**base, **kwargs})
