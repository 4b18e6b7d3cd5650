"""chalicelib.bootstrap.load_users: a users file, or the SSM parameter ``ssm:<name>`` names."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from botocore.exceptions import ClientError

from chalicelib.auth.users import UsersFileError
from chalicelib.bootstrap import load_users
from chalicelib.settings import Settings
from tests.support.auth import USERS_DOC

SETTINGS = Settings(
    stage="prod",
    region="us-east-1",
    repository_table="r",
    runtime_table="rt",
    history_table="h",
    deadletter_table="d",
    jobs_queue="q",
)


class FakeSsm:
    def __init__(self, values: dict[str, str]):
        self.values = values
        self.calls: list[dict] = []

    def get_parameter(self, **kwargs):
        self.calls.append(kwargs)
        if kwargs["Name"] not in self.values:
            raise ClientError({"Error": {"Code": "ParameterNotFound"}}, "GetParameter")
        return {"Parameter": {"Value": self.values[kwargs["Name"]]}}


def test_users_from_an_ssm_parameter_decrypted():
    ssm = FakeSsm({"/workflow/prod/users": json.dumps(USERS_DOC)})
    settings = replace(SETTINGS, users_file="ssm:/workflow/prod/users")
    store = load_users(settings, ssm=ssm)
    assert len(store) == len(USERS_DOC["users"]) and store.source == "ssm:/workflow/prod/users"
    assert ssm.calls == [{"Name": "/workflow/prod/users", "WithDecryption": True}]


def test_a_missing_or_invalid_parameter_is_a_loud_error():
    settings = replace(SETTINGS, users_file="ssm:/workflow/prod/users")
    with pytest.raises(UsersFileError, match="/workflow/prod/users.*cannot be read"):
        load_users(settings, ssm=FakeSsm({}))
    with pytest.raises(UsersFileError, match="not valid JSON"):
        load_users(settings, ssm=FakeSsm({"/workflow/prod/users": "{"}))


def test_a_file_or_nothing_is_the_user_store_as_before(tmp_path):
    path = tmp_path / "users.json"
    path.write_text(json.dumps(USERS_DOC))
    assert len(load_users(replace(SETTINGS, users_file=str(path)))) == len(USERS_DOC["users"])
    with pytest.raises(UsersFileError, match="never has a default password"):
        load_users(SETTINGS)
