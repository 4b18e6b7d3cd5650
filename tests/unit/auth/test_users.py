"""chalicelib.auth.users: users-file validation, lookup, the built-in local file."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from chalicelib.auth.caller import ADMIN_ROLE, AUTHORIZED_ROLE, REG_ROLE, CallerSource
from chalicelib.auth.passwords import parse_password_hash
from chalicelib.auth.users import (
    BUILTIN_USERS_FILE,
    UsersFileError,
    UserStore,
    load_user_store,
)
from chalicelib.settings import Settings, SettingsError
from tests.support.auth import USERS_DOC, user_entry


def settings(stage="local", users_file=None):
    return Settings(
        stage=stage,
        region="us-east-1",
        repository_table="r",
        runtime_table="rt",
        history_table="h",
        deadletter_table="d",
        jobs_queue="q",
        users_file=users_file,
    )


def test_check_right_wrong_unknown(store, verifier):
    alice = store.check("alice", "alice-secret")
    assert alice is not None and alice.username == "alice"
    assert alice.roles == {AUTHORIZED_ROLE, "employee"} and alice.groups == {"finance"}
    assert store.check("alice", "wrong") is None
    assert store.check("Alice", "alice-secret") is None  # usernames are case-sensitive
    assert store.check("nobody", "alice-secret") is None
    assert verifier.calls == 4  # an unknown user costs a (decoy) hash too


def test_user_to_caller(store):
    caller = store.get("alice").caller(CallerSource.BASIC)
    assert (caller.user_id, caller.source) == ("alice", CallerSource.BASIC)
    assert caller.groups == {"finance"}


def test_user_repr_hides_the_hash(store):
    user = store.get("alice")
    assert user.password_hash.split("$")[3] not in repr(user)


def test_groups_are_optional():
    doc = {"users": [user_entry("x", "pw", [AUTHORIZED_ROLE])]}
    assert UserStore.from_dict(doc).get("x").groups == frozenset()


def test_load_from_file(write_json):
    path = write_json(USERS_DOC)
    store = UserStore.from_file(path)
    assert len(store) == len(USERS_DOC["users"]) and "bob" in store
    assert store.source == str(path)


def _error(doc):
    with pytest.raises(UsersFileError) as info:
        UserStore.from_dict(doc, source="users.json")
    assert isinstance(info.value, SettingsError)  # a configuration error, loud (500)
    return str(info.value)


def test_duplicate_usernames():
    doc = {"users": [user_entry("dup", "a", ["r"]), user_entry("dup", "b", ["r"])]}
    message = _error(doc)
    assert "duplicate" in message and "'dup'" in message and "users.json" in message


@pytest.mark.parametrize("field", ["password", "roles"])
def test_missing_field_names_user_and_field(field):
    entry = user_entry("carol", "pw", ["r"])
    del entry[field]
    message = _error({"users": [entry]})
    assert "'carol'" in message and f"'{field}'" in message


def test_missing_username_names_the_index():
    entry = user_entry("carol", "pw", ["r"])
    del entry["username"]
    message = _error({"users": [user_entry("ok", "pw", ["r"]), entry]})
    assert "users[1]" in message and "'username'" in message


def test_plain_text_password_is_refused_without_echoing_it():
    entry = {"username": "dave", "password": "hunter2-plain", "roles": ["r"]}
    message = _error({"users": [entry]})
    assert "'dave'" in message and "'password'" in message and "plain text" in message
    assert "hunter2-plain" not in message


@pytest.mark.parametrize(
    "doc, fragment",
    [
        ([], '{"users": [...]}'),
        ({}, '{"users": [...]}'),
        ({"users": {}}, '{"users": [...]}'),
        ({"users": [], "extra": 1}, "'extra'"),
        ({"users": ["alice"]}, "users[0]"),
        ({"users": [{**user_entry("e", "pw", ["r"]), "role": ["x"]}]}, "'role'"),
        ({"users": [{**user_entry("e", "pw", ["r"]), "roles": "r"}]}, "'roles'"),
        ({"users": [{**user_entry("e", "pw", ["r"]), "roles": [""]}]}, "'roles'"),
        ({"users": [{**user_entry("e", "pw", ["r"]), "groups": [3]}]}, "'groups'"),
        ({"users": [{**user_entry("e", "pw", ["r"]), "username": ""}]}, "'username'"),
        ({"users": [{**user_entry("e", "pw", ["r"]), "username": "a\x00b"}]}, "control"),
    ],
)
def test_invalid_documents(doc, fragment):
    assert fragment in _error(doc)


def test_unreadable_and_invalid_json_files(tmp_path, write_json):
    with pytest.raises(UsersFileError, match="cannot be read"):
        UserStore.from_file(tmp_path / "missing.json")
    with pytest.raises(UsersFileError, match="not valid JSON"):
        UserStore.from_file(write_json("{not json"))


# --- the built-in local file ------------------------------------------------------------------


def test_builtin_file_is_valid_and_hashed():
    raw = json.loads(BUILTIN_USERS_FILE.read_text())
    for entry in raw["users"]:
        assert parse_password_hash(entry["password"]).iterations == 100_000
        assert entry["password"] != entry["username"]
    store = UserStore.from_file(BUILTIN_USERS_FILE)
    assert store.get("openidm-admin").roles == {ADMIN_ROLE, AUTHORIZED_ROLE}
    assert store.get("anonymous").roles == {REG_ROLE}
    assert store.check("openidm-admin", "openidm-admin") is not None
    assert store.check("anonymous", "anonymous") is not None
    assert store.check("openidm-admin", "anonymous") is None
    assert len(store) == 2


def test_local_stage_without_users_file_uses_the_builtin():
    store = load_user_store(settings("local"))
    assert store.source == str(BUILTIN_USERS_FILE) and "openidm-admin" in store


@pytest.mark.parametrize("stage", ["dev", "prod", "Local", "staging"])
def test_deployed_stage_without_users_file_is_a_loud_error(stage):
    with pytest.raises(SettingsError, match="never has a default password"):
        load_user_store(settings(stage))


def test_deployed_stage_trusting_the_authorizer_needs_no_users_file():
    """Callers come from the authorizer's claims; no credentials header can log in."""
    store = load_user_store(replace(settings("dev"), trust_authorizer=True))
    assert len(store) == 0 and store.check("openidm-admin", "openidm-admin") is None


@pytest.mark.parametrize("stage", ["local", "prod"])
def test_users_file_setting_wins_on_every_stage(stage, write_json):
    path = write_json({"users": [user_entry("only", "pw", [AUTHORIZED_ROLE])]})
    store = load_user_store(settings(stage, users_file=str(path)))
    assert "only" in store and "openidm-admin" not in store


def test_settings_from_env_feed_load_user_store(write_json):
    path = write_json({"users": [user_entry("envuser", "pw", [AUTHORIZED_ROLE])]})
    env = {
        "WORKFLOW_STAGE": "prod",
        "WORKFLOW_REPOSITORY_TABLE": "r",
        "WORKFLOW_RUNTIME_TABLE": "rt",
        "WORKFLOW_HISTORY_TABLE": "h",
        "WORKFLOW_DEADLETTER_TABLE": "d",
        "WORKFLOW_JOBS_QUEUE": "q",
        "WORKFLOW_USERS_FILE": str(path),
    }
    assert "envuser" in load_user_store(Settings.from_env(env))
    del env["WORKFLOW_USERS_FILE"]
    with pytest.raises(SettingsError):
        load_user_store(Settings.from_env(env))


def test_from_settings_aliases(write_json):
    from chalicelib.auth.access import ProcessAccess

    assert "openidm-admin" in UserStore.from_settings(settings("local"))
    with pytest.raises(SettingsError):
        UserStore.from_settings(settings("prod"))
    assert ProcessAccess.from_settings(settings("prod")).source == "<default>"
