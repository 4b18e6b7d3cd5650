"""Fixtures of the functional tests: clients whose users file holds more than the administrator."""

from __future__ import annotations

import json

import pytest

from tests.support.tasks import AUTHORIZED, deploy_onboard, start


@pytest.fixture
def user_client(moto_backend, tmp_path):
    """A client whose users file has an admin and ``alice`` (openidm-authorized), and whose
    process-access rules let authorized users start only keys beginning with ``open``."""
    from chalice.test import Client

    import app as application
    from chalicelib import bootstrap
    from chalicelib.auth.passwords import hash_password
    from chalicelib.clock import FixedClock
    from chalicelib.settings import Settings
    from tests.support.env import TEST_ENV

    users = {
        "users": [
            {
                "username": "openidm-admin",
                "password": hash_password("openidm-admin", iterations=1000),
                "roles": ["internal/role/openidm-admin", "internal/role/openidm-authorized"],
                "groups": [],
            },
            {
                "username": "alice",
                "password": hash_password("alice-secret", iterations=1000),
                "roles": ["internal/role/openidm-authorized"],
                "groups": [],
            },
        ]
    }
    access = {
        "workflowAccess": [
            {
                "propertiesCheck": {
                    "property": "key",
                    "matches": "open.*",
                    "requiresRole": "internal/role/openidm-authorized",
                }
            }
        ]
    }
    (tmp_path / "users.json").write_text(json.dumps(users))
    (tmp_path / "access.json").write_text(json.dumps(access))
    settings = Settings.from_env(
        dict(
            TEST_ENV,
            WORKFLOW_USERS_FILE=str(tmp_path / "users.json"),
            WORKFLOW_PROCESS_ACCESS_FILE=str(tmp_path / "access.json"),
        )
    )
    container = bootstrap.build_container(settings, clock=FixedClock())
    bootstrap.set_container(container)
    try:
        with Client(application.app, stage_name="local") as test_client:
            yield test_client, container
    finally:
        bootstrap.reset_container()


@pytest.fixture
def users_client(moto_backend, tmp_path):
    """bob: candidate user; carol: group ``managers``; hank: role ``internal/role/hr``;
    dave: authorized, nothing to do with the task."""
    from chalice.test import Client

    import app as application
    from chalicelib import bootstrap
    from chalicelib.auth.passwords import hash_password
    from chalicelib.clock import FixedClock
    from chalicelib.settings import Settings
    from tests.support.env import TEST_ENV

    def user(name, password, roles, groups=()):
        return {
            "username": name,
            "password": hash_password(password, iterations=1000),
            "roles": list(roles),
            "groups": list(groups),
        }

    users = {
        "users": [
            user("openidm-admin", "openidm-admin", ["internal/role/openidm-admin", AUTHORIZED]),
            user("anonymous", "anonymous", ["internal/role/openidm-reg"]),
            user("bob", "bob-pw", [AUTHORIZED]),
            user("carol", "carol-pw", [AUTHORIZED], ["managers"]),
            user("hank", "hank-pw", [AUTHORIZED, "internal/role/hr"]),
            user("dave", "dave-pw", [AUTHORIZED]),
        ]
    }
    (tmp_path / "users.json").write_text(json.dumps(users))
    settings = Settings.from_env(dict(TEST_ENV, WORKFLOW_USERS_FILE=str(tmp_path / "users.json")))
    container = bootstrap.build_container(settings, clock=FixedClock())
    bootstrap.set_container(container)
    try:
        with Client(application.app, stage_name="local") as test_client:
            definition_id = deploy_onboard(container)
            yield test_client, start(container, definition_id, who="ann")[1]
    finally:
        bootstrap.reset_container()
