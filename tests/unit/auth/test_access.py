"""chalicelib.auth.access: process-access.json, default and custom."""

from __future__ import annotations

import pytest

from chalicelib.auth.access import ProcessAccess, ProcessAccessError, load_process_access
from chalicelib.auth.caller import ADMIN_ROLE, AUTHORIZED_ROLE, REG_ROLE, Caller, CallerSource
from chalicelib.settings import Settings, SettingsError


def caller(*roles, user="u"):
    return Caller(user, roles, [], CallerSource.HEADERS)


ADMIN = caller(ADMIN_ROLE)
USER = caller(AUTHORIZED_ROLE)
EMPLOYEE = caller(AUTHORIZED_ROLE, "employee")
ANON = caller(REG_ROLE, user="anonymous")

ONBOARDING = {
    "_id": "contractorOnboarding:1:5",
    "key": "contractorOnboarding",
    "name": "Contractor onboarding process",
    "suspended": False,
}
EXPENSES = {"_id": "expenses:2:9", "key": "expenses", "name": "Expense claim"}

SAMPLE = {
    "workflowAccess": [
        {
            "propertiesCheck": {
                "property": "name",
                "matches": "Contractor onboarding process",
                "requiresRole": "employee",
            }
        },
        {"propertiesCheck": {"property": "key", "matches": "exp.*", "requiresRole": "manager"}},
    ]
}


def settings(process_access_file=None):
    return Settings(
        stage="local",
        region="us-east-1",
        repository_table="r",
        runtime_table="rt",
        history_table="h",
        deadletter_table="d",
        jobs_queue="q",
        process_access_file=process_access_file,
    )


def test_default_grants_everything_to_authorized_only():
    access = ProcessAccess.default()
    assert access.can_start(USER, ONBOARDING) and access.can_start(USER, EXPENSES)
    assert access.can_start(USER, {"_id": "weird\nid"})
    assert not access.can_start(ANON, ONBOARDING)
    assert not access.can_start(caller("employee"), ONBOARDING)
    assert access.can_start(caller(ADMIN_ROLE), ONBOARDING)
    assert access.startable(USER, [ONBOARDING, EXPENSES]) == [ONBOARDING, EXPENSES]


def test_load_without_setting_is_the_default():
    access = load_process_access(settings())
    assert access.source == "<default>" and access.can_start(USER, EXPENSES)


def test_custom_file_roles_and_full_match(write_json):
    access = load_process_access(settings(str(write_json(SAMPLE))))
    assert access.can_start(EMPLOYEE, ONBOARDING)
    assert not access.can_start(EMPLOYEE, EXPENSES)
    assert not access.can_start(USER, ONBOARDING)  # default grant is gone
    manager = caller(AUTHORIZED_ROLE, "manager")
    assert access.can_start(manager, EXPENSES) and not access.can_start(manager, ONBOARDING)
    assert access.can_start(ADMIN, ONBOARDING) and access.can_start(ADMIN, EXPENSES)
    assert access.startable(EMPLOYEE, [EXPENSES, ONBOARDING]) == [ONBOARDING]
    assert access.startable(USER, [EXPENSES, ONBOARDING]) == []


def test_match_is_a_full_match_not_a_search():
    access = ProcessAccess.from_dict(
        {
            "workflowAccess": [
                {
                    "propertiesCheck": {
                        "property": "name",
                        "matches": "Contractor",
                        "requiresRole": "r",
                    }
                }
            ]
        }
    )
    assert not access.can_start(caller("r"), ONBOARDING)  # only a prefix matches
    assert access.can_start(caller("r"), {"name": "Contractor"})


def test_missing_null_and_non_string_properties():
    access = ProcessAccess.from_dict(
        {
            "workflowAccess": [
                {
                    "propertiesCheck": {
                        "property": "suspended",
                        "matches": "false",
                        "requiresRole": "r",
                    }
                },
                {
                    "propertiesCheck": {
                        "property": "version",
                        "matches": "[0-9]+",
                        "requiresRole": "r",
                    }
                },
                {"propertiesCheck": {"property": "category", "matches": ".*", "requiresRole": "r"}},
            ]
        }
    )
    r = caller("r")
    assert access.can_start(r, {"suspended": False})
    assert access.can_start(r, {"version": 3})
    assert not access.can_start(r, {"category": None})  # null: no match, even for .*
    assert not access.can_start(r, {})
    assert not access.can_start(r, "not a definition")  # type: ignore[arg-type]


def test_empty_rules_mean_admins_only():
    access = ProcessAccess.from_dict({"workflowAccess": []})
    assert not access.can_start(USER, ONBOARDING) and access.can_start(ADMIN, ONBOARDING)


@pytest.mark.parametrize(
    "doc, fragment",
    [
        ({}, "workflowAccess"),
        ([], "workflowAccess"),
        ({"workflowAccess": {}}, "workflowAccess"),
        ({"workflowAccess": ["x"]}, "workflowAccess[0]"),
        ({"workflowAccess": [{"propertiesCheck": "x"}]}, "propertiesCheck must be an object"),
        ({"workflowAccess": [{"other": {}}]}, "workflowAccess[0]"),
        (
            {"workflowAccess": [{"propertiesCheck": {"matches": ".*", "requiresRole": "r"}}]},
            "'property'",
        ),
        (
            {"workflowAccess": [{"propertiesCheck": {"property": "name", "requiresRole": "r"}}]},
            "'matches'",
        ),
        (
            {"workflowAccess": [{"propertiesCheck": {"property": "name", "matches": ".*"}}]},
            "'requiresRole'",
        ),
        (
            {
                "workflowAccess": [
                    {"propertiesCheck": {"property": "name", "matches": ".*", "requiresRole": ""}}
                ]
            },
            "'requiresRole'",
        ),
        (
            {
                "workflowAccess": [
                    {
                        "propertiesCheck": {
                            "property": "name",
                            "matches": ".*",
                            "requiresRole": "r",
                            "role": "x",
                        }
                    }
                ]
            },
            "'role'",
        ),
        (
            {
                "workflowAccess": [
                    {
                        "propertiesCheck": {
                            "property": "name",
                            "matches": "(unclosed",
                            "requiresRole": "r",
                        }
                    }
                ]
            },
            "not a valid regex",
        ),
    ],
)
def test_invalid_files_are_loud(doc, fragment):
    with pytest.raises(ProcessAccessError) as info:
        ProcessAccess.from_dict(doc, source="pa.json")
    assert isinstance(info.value, SettingsError)
    assert fragment in str(info.value) and "pa.json" in str(info.value)


def test_bad_regex_in_a_file_names_the_file(write_json):
    path = write_json(
        {
            "workflowAccess": [
                {"propertiesCheck": {"property": "name", "matches": "*bad", "requiresRole": "r"}}
            ]
        }
    )
    with pytest.raises(ProcessAccessError, match="not a valid regex"):
        load_process_access(settings(str(path)))


def test_unreadable_and_invalid_json(tmp_path, write_json):
    with pytest.raises(ProcessAccessError, match="cannot be read"):
        ProcessAccess.from_file(tmp_path / "missing.json")
    with pytest.raises(ProcessAccessError, match="not valid JSON"):
        ProcessAccess.from_file(write_json("{"))
