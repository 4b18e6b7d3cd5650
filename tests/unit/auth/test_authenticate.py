"""chalicelib.auth.authenticate: headers, Basic, RFC 5987, 401s, the cache, the authorizer."""

from __future__ import annotations

import base64
import gc
from urllib.parse import quote

import pytest

from chalicelib.api.errors import error_envelope, status_of
from chalicelib.auth.access import ProcessAccess
from chalicelib.auth.authenticate import (
    Authenticator,
    CredentialCache,
    caller_from_authorizer,
    decode_rfc5987,
    parse_basic,
)
from chalicelib.auth.caller import ADMIN_ROLE, AUTHORIZED_ROLE, REG_ROLE, Caller, CallerSource
from chalicelib.auth.rules import Operation, default_policy
from chalicelib.clock import FixedClock
from chalicelib.errors import Unauthorized


@pytest.fixture
def clock():
    return FixedClock()


@pytest.fixture
def auth(store, clock):
    return Authenticator(store, cache_seconds=300, clock=clock, trust_authorizer=False)


def basic(user, password, encoding="utf-8"):
    token = base64.b64encode(f"{user}:{password}".encode(encoding)).decode()
    return {"Authorization": f"Basic {token}"}


def headers(user, password):
    return {"X-OpenIDM-Username": user, "X-OpenIDM-Password": password}


def assert_401(auth, hdrs, authorizer=None):
    with pytest.raises(Unauthorized) as info:
        auth.authenticate(hdrs, authorizer)
    assert status_of(info.value) == 401
    assert error_envelope(info.value) == {
        "code": 401,
        "reason": "Unauthorized",
        "message": "Access Denied",
    }


# --- headers and Basic ------------------------------------------------------------------------


def test_openidm_headers(auth):
    caller = auth.authenticate(headers("openidm-admin", "openidm-admin"))
    assert caller.user_id == "openidm-admin" and caller.is_admin
    assert caller.source is CallerSource.HEADERS


@pytest.mark.parametrize(
    "name_u, name_p",
    [
        ("x-openidm-username", "x-openidm-password"),
        ("X-OPENIDM-USERNAME", "x-OpenIdm-Password"),
    ],
)
def test_header_names_are_case_insensitive(auth, name_u, name_p):
    caller = auth.authenticate({name_u: "alice", name_p: "alice-secret"})
    assert caller.user_id == "alice" and caller.groups == {"finance"}


def test_basic(auth):
    caller = auth.authenticate(basic("bob", "bob-secret"))
    assert caller.user_id == "bob" and caller.source is CallerSource.BASIC


def test_basic_scheme_is_case_insensitive_and_password_may_contain_colons(store, clock):
    auth = Authenticator(store, cache_seconds=0, clock=clock, trust_authorizer=False)
    token = base64.b64encode(b"alice:alice-secret").decode()
    assert auth.authenticate({"authorization": f"bAsIc   {token}"}).user_id == "alice"
    user, password = parse_basic("Basic " + base64.b64encode(b"u:p:a:ss").decode())
    assert (user, password) == ("u", "p:a:ss")


def test_basic_utf8_and_latin1(auth):
    assert auth.authenticate(basic("jürgen", "pässwörd€")).user_id == "jürgen"
    # ISO-8859-1 clients: "ü" and "ä" as single bytes (no "€" in latin-1)
    assert parse_basic("Basic " + base64.b64encode("jürgen:pä".encode("latin-1")).decode()) == (
        "jürgen",
        "pä",
    )


def test_headers_win_over_basic(auth):
    hdrs = {**headers("alice", "alice-secret"), **basic("bob", "bob-secret")}
    assert auth.authenticate(hdrs).user_id == "alice"
    # and a failing header login does not fall back to Basic
    assert_401(auth, {**headers("alice", "wrong"), **basic("bob", "bob-secret")})


def test_rfc5987_encoded_header_values(auth):
    hdrs = {
        "X-OpenIDM-Username": "UTF-8''" + quote("jürgen"),
        "X-OpenIDM-Password": "utf-8'en'" + quote("pässwörd€"),
    }
    assert auth.authenticate(hdrs).user_id == "jürgen"


def test_decode_rfc5987():
    assert decode_rfc5987("UTF-8''%E2%82%AC%20rates") == "€ rates"
    assert decode_rfc5987("iso-8859-1'en'%A3%20rates") == "£ rates"
    assert decode_rfc5987("plain") == "plain"
    assert decode_rfc5987("x-unknown''%41") == "x-unknown''%41"  # unknown charset: literal
    for bad in ("UTF-8''%E2%82", "UTF-8''%zz", "UTF-8''%4"):
        with pytest.raises(ValueError):
            decode_rfc5987(bad)


@pytest.mark.parametrize(
    "hdrs",
    [
        {},
        None,
        {"Content-Type": "application/json"},
        headers("alice", "wrong"),
        headers("nobody", "alice-secret"),
        headers("ALICE", "alice-secret"),
        {"X-OpenIDM-Username": "alice"},  # username alone
        {"X-OpenIDM-Password": "alice-secret"},  # password alone
        headers("", "alice-secret"),
        headers("alice", ""),
        {"X-OpenIDM-Username": "alice", "X-OpenIDM-Password": None},
        {"X-OpenIDM-Username": "UTF-8''%E2%82", "X-OpenIDM-Password": "x"},  # bad RFC 5987
        {"Authorization": "Basic"},
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"Authorization": "Basic " + base64.b64encode(b":alice-secret").decode()},
        {"Authorization": "Bearer abc.def.ghi"},
        basic("alice", "wrong"),
        basic("anonymous", "wrong"),
    ],
)
def test_401_cases(auth, hdrs):
    assert_401(auth, hdrs)


def test_anonymous_authenticates_but_every_workflow_rule_is_403(auth):
    caller = auth.authenticate(headers("anonymous", "anonymous"))
    assert caller.roles == {REG_ROLE} and not caller.is_authorized
    policy = default_policy(ProcessAccess.default())
    task = {"assignee": "anonymous", "candidateUsers": ["anonymous"], "candidateGroups": [REG_ROLE]}
    for resource in (
        "taskinstance",
        "processinstance",
        "processdefinition",
        "processdefinition/taskdefinition",
        "model",
        "job",
    ):
        for operation in Operation:
            assert not policy.permits(
                caller,
                resource,
                operation,
                action="complete",
                context={**task, "_id": "p:1:1", "_queryId": "unassignedTaskQuery"},
            )


# --- the credential cache ---------------------------------------------------------------------


def test_cache_hit_does_not_rehash(auth, verifier):
    first = auth.authenticate(headers("alice", "alice-secret"))
    assert verifier.calls == 1
    for _ in range(5):
        assert auth.authenticate(headers("alice", "alice-secret")) == first
    assert verifier.calls == 1
    # Basic with the same credentials also hits, with the right source
    assert auth.authenticate(basic("alice", "alice-secret")).source is CallerSource.BASIC
    assert verifier.calls == 1


def test_cache_miss_for_another_password_or_user(auth, verifier):
    auth.authenticate(headers("alice", "alice-secret"))
    assert_401(auth, headers("alice", "alice-secreT"))
    auth.authenticate(headers("bob", "bob-secret"))
    assert verifier.calls == 3


def test_failures_are_not_cached(auth, verifier):
    for _ in range(3):
        assert_401(auth, headers("alice", "wrong"))
    assert verifier.calls == 3 and len(auth.cache) == 0


def test_cache_expires(auth, clock, verifier):
    auth.authenticate(headers("alice", "alice-secret"))
    clock.advance(seconds=299)
    auth.authenticate(headers("alice", "alice-secret"))
    assert verifier.calls == 1
    clock.advance(seconds=1)  # exactly cache_seconds after the first verification
    auth.authenticate(headers("alice", "alice-secret"))
    assert verifier.calls == 2
    clock.advance(seconds=299)
    auth.authenticate(headers("alice", "alice-secret"))
    assert verifier.calls == 2


def test_cache_disabled_with_zero_seconds(store, clock, verifier):
    auth = Authenticator(store, cache_seconds=0, clock=clock, trust_authorizer=False)
    auth.authenticate(headers("alice", "alice-secret"))
    auth.authenticate(headers("alice", "alice-secret"))
    assert verifier.calls == 2 and len(auth.cache) == 0


def test_cache_is_lru_bounded(store, clock, verifier):
    auth = Authenticator(
        store, cache_seconds=300, clock=clock, trust_authorizer=False, cache_size=2
    )
    auth.authenticate(headers("alice", "alice-secret"))  # [alice]
    auth.authenticate(headers("bob", "bob-secret"))  # [alice, bob]
    auth.authenticate(headers("alice", "alice-secret"))  # hit -> [bob, alice]
    assert verifier.calls == 2
    auth.authenticate(headers("openidm-admin", "openidm-admin"))  # evicts bob
    assert len(auth.cache) == 2 and verifier.calls == 3
    auth.authenticate(headers("alice", "alice-secret"))  # still cached
    assert verifier.calls == 3
    auth.authenticate(headers("bob", "bob-secret"))  # was evicted: rehash
    assert verifier.calls == 4


def test_default_cache_bound_is_1000(clock):
    cache = CredentialCache(ttl_seconds=60, clock=clock)
    caller = Caller("u", [AUTHORIZED_ROLE], [], CallerSource.HEADERS)
    for i in range(1_050):
        cache.put("u", f"pw{i}", caller)
    assert len(cache) == 1_000
    assert cache.get("u", "pw0") is None and cache.get("u", "pw1049") == caller


def test_cache_keeps_no_plain_password(auth):
    password = "alice-secret"
    auth.authenticate(headers("alice", password))
    entries = auth.cache._entries
    assert len(entries) == 1
    ((key, (caller, expires)),) = entries.items()
    assert isinstance(key, bytes) and len(key) == 32
    assert password.encode() not in key
    assert key == auth.cache.key("alice", password)
    dumped = repr(vars(auth.cache)) + repr(vars(caller))
    assert password not in dumped
    # nothing reachable from the cache holds the password string
    assert not any(
        obj is password or obj == password for obj in gc.get_referents(*entries.values(), entries)
    )


def test_cache_keys_are_keyed_per_instance(clock):
    one = CredentialCache(ttl_seconds=60, clock=clock)
    two = CredentialCache(ttl_seconds=60, clock=clock)
    assert one.key("u", "p") != two.key("u", "p")
    assert one.key("u", "p") == one.key("u", "p")
    assert one.key("u", "p\x00") != one.key("u\x00", "p")


# --- the API Gateway authorizer ---------------------------------------------------------------


@pytest.fixture
def trusting(store, clock):
    return Authenticator(store, cache_seconds=300, clock=clock, trust_authorizer=True)


def test_cognito_claims_are_mapped(trusting):
    context = {
        "claims": {
            "sub": "0b7c-uuid",
            "cognito:username": "carol",
            "roles": '["internal/role/openidm-authorized", "employee"]',
            "cognito:groups": "finance,managers",
        }
    }
    caller = trusting.authenticate({}, context)
    assert caller == Caller(
        "carol", {AUTHORIZED_ROLE, "employee"}, {"finance", "managers"}, CallerSource.AUTHORIZER
    )


@pytest.mark.parametrize(
    "claims, user_id",
    [
        ({"username": "u1", "cognito:username": "u2", "sub": "s", "principalId": "p"}, "u1"),
        ({"cognito:username": "u2", "sub": "s", "principalId": "p"}, "u2"),
        ({"sub": "s", "principalId": "p"}, "s"),
        ({"principalId": "p"}, "p"),
        ({"username": "  ", "sub": "s"}, "s"),
    ],
)
def test_user_id_claim_order(claims, user_id):
    assert caller_from_authorizer({"claims": claims}).user_id == user_id
    assert caller_from_authorizer(claims).user_id == user_id  # flat (Lambda authorizer) context


def test_principal_id_outside_claims_and_jwt_claims():
    assert caller_from_authorizer({"principalId": "p", "claims": {"roles": "r"}}).user_id == "p"
    caller = caller_from_authorizer(
        {"jwt": {"claims": {"sub": "s", "groups": "[g1 g2]"}, "scopes": None}}
    )
    assert caller.user_id == "s" and caller.groups == {"g1", "g2"}


@pytest.mark.parametrize(
    "value, expected",
    [
        (["a", "b"], {"a", "b"}),
        ('["a", "b"]', {"a", "b"}),
        ("a,b", {"a", "b"}),
        ("a, b", {"a", "b"}),
        ("a b", {"a", "b"}),
        ("[a b]", {"a", "b"}),
        ("", set()),
        (None, set()),
    ],
)
def test_roles_claim_shapes(value, expected):
    assert caller_from_authorizer({"sub": "s", "roles": value}).roles == expected


def test_roles_and_groups_claims_are_unioned():
    caller = caller_from_authorizer(
        {
            "claims": {
                "sub": "s",
                "roles": "r1",
                "custom:roles": "r2",
                "cognito:groups": "g1",
                "groups": "g2",
            }
        }
    )
    assert caller.roles == {"r1", "r2"} and caller.groups == {"g1", "g2"}


def test_authorizer_wins_over_headers_when_trusted(trusting):
    caller = trusting.authenticate(
        headers("openidm-admin", "openidm-admin"), {"claims": {"sub": "s"}}
    )
    assert caller.user_id == "s" and not caller.is_admin


def test_authorizer_without_user_is_401(trusting):
    assert_401(trusting, headers("alice", "alice-secret"), {"claims": {"roles": "x"}})


def test_trusted_but_no_authorizer_falls_back_to_headers(trusting):
    assert trusting.authenticate(headers("alice", "alice-secret"), None).user_id == "alice"
    assert trusting.authenticate(headers("alice", "alice-secret"), {}).user_id == "alice"
    assert_401(trusting, {}, None)


def test_authorizer_ignored_when_not_trusted(auth):
    context = {"claims": {"sub": "s", "roles": ADMIN_ROLE}}
    assert_401(auth, {}, context)
    caller = auth.authenticate(headers("bob", "bob-secret"), context)
    assert caller.user_id == "bob" and not caller.is_admin


def test_authorizer_default_roles(store, clock):
    auth = Authenticator(
        store,
        cache_seconds=300,
        clock=clock,
        trust_authorizer=True,
        authorizer_default_roles=frozenset({AUTHORIZED_ROLE}),
    )
    assert auth.authenticate({}, {"claims": {"sub": "s"}}).roles == {AUTHORIZED_ROLE}
