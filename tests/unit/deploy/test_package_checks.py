"""``make package`` refuses a stage that would authenticate nobody, before running Chalice."""

from __future__ import annotations

import json

import pytest

from chalicelib.deploy.__main__ import PackageError, check_authentication, main
from chalicelib.deploy.names import Function
from chalicelib.deploy.template import merge_template
from tests.support.auth import USERS_DOC

ENV = {
    "WORKFLOW_REPOSITORY_TABLE": "workflow-x-repository",
    "WORKFLOW_RUNTIME_TABLE": "workflow-x-runtime",
    "WORKFLOW_HISTORY_TABLE": "workflow-x-history",
    "WORKFLOW_DEADLETTER_TABLE": "workflow-x-deadletter",
    "WORKFLOW_JOBS_QUEUE": "workflow-x-jobs",
}


def test_missing_users_file_is_a_clear_error(tmp_path):
    env = dict(ENV, WORKFLOW_USERS_FILE="chalicelib/users-x.json")
    with pytest.raises(PackageError) as raised:
        check_authentication("x", env, tmp_path)
    message = str(raised.value)
    assert "chalicelib/users-x.json" in message and "missing" in message
    assert "stage 'x'" in message and "WORKFLOW_TRUST_AUTHORIZER" in message


def test_invalid_users_file_is_refused(tmp_path):
    (tmp_path / "users.json").write_text(json.dumps({"users": [{"username": "a"}]}))
    with pytest.raises(PackageError, match="stage 'x'"):
        check_authentication("x", dict(ENV, WORKFLOW_USERS_FILE="users.json"), tmp_path)


def test_present_users_file_or_the_authorizer_passes(tmp_path):
    (tmp_path / "users.json").write_text(json.dumps(USERS_DOC))
    check_authentication("x", dict(ENV, WORKFLOW_USERS_FILE="users.json"), tmp_path)
    check_authentication("x", dict(ENV, WORKFLOW_TRUST_AUTHORIZER="true"), tmp_path)


def test_a_stage_with_neither_authenticates_nobody(tmp_path):
    with pytest.raises(PackageError, match="authenticate nobody"):
        check_authentication("x", dict(ENV), tmp_path)


def test_the_command_exits_2_with_the_message(monkeypatch, capsys, tmp_path):
    def refuse(*args, **kwargs):
        raise PackageError("the users file is missing")

    monkeypatch.setattr("chalicelib.deploy.__main__.package", refuse)
    assert main(["package", "x", str(tmp_path)]) == 2
    assert "the users file is missing" in capsys.readouterr().err


def test_without_the_authorizer_no_cognito_parameter_or_security():
    template = merge_template(dict(ENV, WORKFLOW_USERS_FILE="users.json"), stage="x")
    assert "CognitoUserPoolArn" not in template["Parameters"]
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert "securityDefinitions" not in body
    assert template["Resources"]["RuntimeTable"]["Properties"]["TableName"] == "workflow-x-runtime"


def test_a_users_parameter_passes_when_its_name_is_one(tmp_path):
    check_authentication("x", dict(ENV, WORKFLOW_USERS_FILE="ssm:/workflow/x/users"), tmp_path)
    with pytest.raises(PackageError, match="not a parameter name"):
        check_authentication("x", dict(ENV, WORKFLOW_USERS_FILE="ssm:/workflow/*"), tmp_path)


def test_every_role_may_read_the_users_parameter_and_nothing_else_of_ssm():
    template = merge_template(dict(ENV, WORKFLOW_USERS_FILE="ssm:/workflow/x/users"), stage="x")
    arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/workflow/x/users"
    for function in Function:
        policies = template["Resources"][function.spec.role]["Properties"]["Policies"]
        statements = [s for p in policies for s in p["PolicyDocument"]["Statement"]]
        ssm = [s for s in statements if s["Action"][0].startswith("ssm:")]
        assert ssm == [
            {
                "Sid": "UsersParameter",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter"],
                "Resource": [{"Fn::Sub": arn}],
            }
        ]


def test_an_unknown_stage_is_named(capsys, tmp_path):
    assert main(["package", "nosuchstage", str(tmp_path)]) == 2
    assert "No stage 'nosuchstage'" in capsys.readouterr().err
