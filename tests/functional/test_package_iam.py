"""Least privilege: each function's role names only this stack's resources and the actions it
uses, read from the packaged template. The wildcards: the outbound channels' queues, topics and
event buses, by the stage's name prefix (``workflow-dev-out-*``), for the functions that run
``send-event`` jobs, and the SES identities of the account in the stack's region
(``identity/*``), for the functions that run ``mail-task`` jobs (the same two)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.deploy.names import Function
from tests.support.packaging import dev_template

#: actions no function may have, per function
FORBIDDEN = {
    Function.API: {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"},
    Function.WORKER: set(),
    Function.EVENTS: {"sqs:ChangeMessageVisibility", "ssm:PutParameter", "ses:SendRawEmail"},
    Function.SWEEP: {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "ses:SendRawEmail",
    },
}
#: actions each function needs
REQUIRED = {
    Function.API: {"dynamodb:Query", "dynamodb:PutItem", "sqs:SendMessage", "ses:SendRawEmail"},
    Function.WORKER: {
        "dynamodb:Query",
        "dynamodb:PutItem",
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "ses:SendRawEmail",
    },
    Function.EVENTS: {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    },
    Function.SWEEP: {"dynamodb:Query", "sqs:SendMessage"},
}
#: the outbound channels' queues (``names.outbound_queue_prefix``), the only wildcard resource
OUTBOUND_QUEUES = {
    "Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:workflow-dev-out-*"
}
#: outbound sns and eventbridge channels: topics and buses by the same name rule
OUTBOUND_TOPICS = {
    "Fn::Sub": "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:workflow-dev-out-*"
}
OUTBOUND_BUSES = {
    "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:"
    "event-bus/workflow-dev-out-*"
}
#: the functions that run ``send-event`` jobs: the worker, and the API (``job/{id}?_action=execute``)
OUTBOUND_SENDERS = {Function.API, Function.WORKER}
#: the SES identities of the account in the stack's region (the dev stage sets no
#: ``WORKFLOW_SES_REGION``), the other wildcard; the same functions run ``mail-task`` jobs
SES_IDENTITIES = {
    "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"
}
_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.Arn)?\}")


@pytest.fixture(scope="module")
def sam() -> dict:
    return dev_template()


def statements(sam: dict, function: Function) -> list[dict[str, Any]]:
    role = sam["Resources"][function.spec.role]
    assert role["Type"] == "AWS::IAM::Role"
    assert not role["Properties"].get("ManagedPolicyArns")
    found = []
    for policy in role["Properties"]["Policies"]:
        found.extend(policy["PolicyDocument"]["Statement"])
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def referenced_resource(sam: dict, resource: Any) -> str:
    """The logical id a policy resource refers to; fails on a literal ARN or a wildcard."""
    assert isinstance(resource, dict), f"literal resource {resource!r}"
    if "Fn::GetAtt" in resource:
        logical_id, attribute = resource["Fn::GetAtt"]
        assert attribute == "Arn"
    else:
        text = resource["Fn::Sub"]
        assert isinstance(text, str) and "*" not in text, f"wildcard in {text!r}"
        assert "AWS::AccountId" not in text and "AWS::Region" not in text, text
        match = _SUB_REFERENCE.fullmatch(text.split("/index/")[0])
        assert match, text
        logical_id = match.group(1)
    assert logical_id in sam["Resources"], logical_id
    return logical_id


@pytest.mark.parametrize("function", list(Function), ids=lambda f: f.spec.short)
def test_role_names_only_its_stage_resources(sam, function):
    referenced = set()
    for statement in statements(sam, function):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action, action
        if statement["Sid"] == "SendOutbound":
            assert as_list(statement["Resource"]) == [OUTBOUND_QUEUES]
            assert set(as_list(statement["Action"])) == {"sqs:GetQueueUrl", "sqs:SendMessage"}
            continue
        if statement["Sid"] == "PublishOutbound":
            assert as_list(statement["Resource"]) == [OUTBOUND_TOPICS]
            assert as_list(statement["Action"]) == ["sns:Publish"]
            continue
        if statement["Sid"] == "PutOutboundEvents":
            assert as_list(statement["Resource"]) == [OUTBOUND_BUSES]
            assert as_list(statement["Action"]) == ["events:PutEvents"]
            continue
        if statement["Sid"] == "SendMail":
            assert as_list(statement["Resource"]) == [SES_IDENTITIES]
            assert as_list(statement["Action"]) == ["ses:SendRawEmail"]
            continue
        for resource in as_list(statement["Resource"]):
            referenced.add(referenced_resource(sam, resource))
    kinds = {sam["Resources"][r]["Type"] for r in referenced}
    assert kinds <= {"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Logs::LogGroup"}
    assert not referenced & {"JobsDeadLetterQueue", "EventsDeadLetterQueue"}
    # its own log group, nobody else's
    groups = {r for r in referenced if sam["Resources"][r]["Type"] == "AWS::Logs::LogGroup"}
    assert groups == {function.log_group}


@pytest.mark.parametrize("function", list(Function), ids=lambda f: f.spec.short)
def test_role_has_the_actions_it_uses_and_no_other(sam, function):
    actions = {a for s in statements(sam, function) for a in as_list(s["Action"])}
    assert REQUIRED[function] <= actions
    assert not actions & FORBIDDEN[function]


def test_every_action_exists():
    """cfn-lint's W3037 skips templates with the SAM transform, so this checks the actions
    against its IAM data (``sqs:SendMessageBatch``, say, is no action: ``sqs:SendMessage``
    allows the batch)."""
    from cfnlint.data import AdditionalSpecs
    from cfnlint.helpers import load_resource

    services = load_resource(AdditionalSpecs, "Policies.json")
    sam = dev_template()
    unknown = []
    for function in Function:
        for statement in statements(sam, function):
            for action in as_list(statement["Action"]):
                service, _, name = action.lower().partition(":")
                if name not in services.get(service, {}).get("Actions", {}):
                    unknown.append(action)
    assert unknown == []


def test_the_sweep_queries_the_due_index_only(sam):
    dynamodb = [
        s for s in statements(sam, Function.SWEEP) if as_list(s["Action"])[0].startswith("dynamodb")
    ]
    [statement] = dynamodb
    assert as_list(statement["Resource"]) == [
        {"Fn::Sub": "${RuntimeTable.Arn}/index/dueShard-dueAt"}
    ]


def _functions_with(sam: dict, action: str, resource: Any) -> set[Function]:
    return {
        function
        for function in Function
        for s in statements(sam, function)
        if action in as_list(s["Action"]) and resource in as_list(s["Resource"])
    }


@pytest.mark.parametrize(
    ("queue", "consumer"), [("JobsQueue", Function.WORKER), ("EventsQueue", Function.EVENTS)]
)
def test_only_its_function_consumes_a_queue(sam, queue, consumer):
    """The events function never receives jobs, the API nothing; each consumer exactly its
    queue."""
    arn = {"Fn::GetAtt": [queue, "Arn"]}
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        assert _functions_with(sam, action, arn) == {consumer}, action
    receivers = {
        function
        for function in Function
        for s in statements(sam, function)
        if "sqs:ReceiveMessage" in as_list(s["Action"])
    }
    assert receivers == {Function.WORKER, Function.EVENTS}


def test_nobody_sends_to_the_events_queue(sam):
    """Inbound events come from other systems; a function sends jobs or outbound events."""
    assert _functions_with(sam, "sqs:SendMessage", {"Fn::GetAtt": ["EventsQueue", "Arn"]}) == set()


def test_send_event_jobs_may_publish_to_the_outbound_topics_and_buses_only(sam):
    assert _functions_with(sam, "sns:Publish", OUTBOUND_TOPICS) == OUTBOUND_SENDERS
    assert _functions_with(sam, "events:PutEvents", OUTBOUND_BUSES) == OUTBOUND_SENDERS


def test_send_event_jobs_may_reach_the_outbound_queues_only(sam):
    assert _functions_with(sam, "sqs:SendMessage", OUTBOUND_QUEUES) == OUTBOUND_SENDERS
    jobs = {"Fn::GetAtt": ["JobsQueue", "Arn"]}
    assert _functions_with(sam, "sqs:SendMessage", jobs) == set(Function)


def test_the_outbound_prefix_is_the_stages():
    from chalicelib.deploy.names import outbound_queue_prefix

    assert OUTBOUND_QUEUES["Fn::Sub"].endswith(":" + outbound_queue_prefix("workflow", "dev") + "*")


def test_external_worker_topic_queues_are_reached_by_the_outbound_rule(sam):
    """The worker (``external-worker`` jobs) and the API (``job/{id}?_action=execute``)
    publish an external worker task to its topic's queue: a queue named by the outbound rule
    (``docs/deploying.md``) is in their send resource, and no other is."""
    from fnmatch import fnmatch

    from chalicelib.deploy.names import outbound_queue_prefix

    assert {Function.API, Function.WORKER} <= set(OUTBOUND_SENDERS)
    pattern = OUTBOUND_QUEUES["Fn::Sub"].rsplit(":", 1)[-1]
    assert fnmatch(outbound_queue_prefix("workflow", "dev") + "crm", pattern)
    assert not fnmatch("workflow-dev-crm", pattern)


def test_mail_task_jobs_may_send_as_the_accounts_ses_identities_only(sam):
    assert _functions_with(sam, "ses:SendRawEmail", SES_IDENTITIES) == OUTBOUND_SENDERS
    senders = {
        function
        for function in Function
        for s in statements(sam, function)
        if any(a.startswith("ses:") for a in as_list(s["Action"]))
    }
    assert senders == OUTBOUND_SENDERS


def test_the_ses_region_setting_scopes_the_mail_grant():
    from chalicelib.deploy.policies import function_policy

    document = function_policy(Function.WORKER, ses_region="eu-west-1")
    [statement] = [s for s in document["Statement"] if s["Sid"] == "SendMail"]
    assert statement["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ses:eu-west-1:${AWS::AccountId}:identity/*"}
    ]


def test_http_task_secrets_in_ssm_are_granted_one_parameter_each():
    """``WORKFLOW_HTTP_SECRET_<NAME>=ssm:<parameter>``: the functions that run ``http-task``
    jobs (the worker, and the API for ``job/{id}?_action=execute``) may read exactly those
    parameters; a plain secret value grants nothing."""
    from chalicelib.deploy.policies import function_policy, parameter_arn
    from chalicelib.deploy.template import secret_parameters

    environment = {
        "WORKFLOW_HTTP_SECRET_CRM": "ssm:/workflow/dev/crm-token",
        "WORKFLOW_HTTP_SECRET_PLAIN": "not-a-parameter",
        "WORKFLOW_USERS_FILE": "ssm:/workflow/dev/users",
    }
    names = secret_parameters(environment)
    assert names == ("/workflow/dev/crm-token",)
    for function in Function:
        document = function_policy(function, secret_parameters=names)
        granted = [s for s in document["Statement"] if s["Sid"] == "HttpSecrets"]
        if function in (Function.API, Function.WORKER):
            [statement] = granted
            assert statement["Action"] == ["ssm:GetParameter"]
            assert statement["Resource"] == [parameter_arn("/workflow/dev/crm-token")]
        else:
            assert granted == []
    assert not any(s["Sid"] == "HttpSecrets" for s in function_policy(Function.WORKER)["Statement"])
