"""The packaged dev stage deploys first time and updates cleanly: cfn-lint, policies, alarms."""

from __future__ import annotations

import json

import pytest

from chalicelib.deploy.names import Function
from tests.support.packaging import dev_template, packaged_dev

#: cfn-lint runs with its informational rules too (I3011 policies on stateful resources,
#: I3013 retention periods, ...); no rule is ignored.
LINT_CHECKS = ["I"]


@pytest.fixture(scope="module")
def sam() -> dict:
    return dev_template()


def resources_of(sam: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in sam["Resources"].items() if v["Type"] == kind}


def test_cfn_lint_finds_nothing():
    """Zero errors, warnings and informational findings on the template that is deployed."""
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(packaged_dev() / "sam.json", config=ManualArgs(include_checks=LINT_CHECKS))
    assert [str(match) for match in matches] == []


def test_stateful_resources_have_both_policies(sam):
    """Tables are kept on delete and on replacement; queues and log groups go on purpose."""
    tables = resources_of(sam, "AWS::DynamoDB::Table")
    assert len(tables) == 4
    for table in tables.values():
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    for kind in ("AWS::SQS::Queue", "AWS::Logs::LogGroup"):
        for name, resource in resources_of(sam, kind).items():
            assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"], name


def test_queues_have_retention(sam):
    queues = resources_of(sam, "AWS::SQS::Queue")
    assert set(queues) == {
        "JobsQueue",
        "JobsDeadLetterQueue",
        "EventsQueue",
        "EventsDeadLetterQueue",
    }
    for queue in queues.values():
        assert queue["Properties"]["MessageRetentionPeriod"] >= 24 * 3600
    for dlq in ("JobsDeadLetterQueue", "EventsDeadLetterQueue"):
        assert queues[dlq]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    # inbound events are the data: kept 4 days (jobs-queue messages are only wake-ups)
    events = queues["EventsQueue"]["Properties"]
    assert events["QueueName"] == "workflow-dev-events"
    assert events["MessageRetentionPeriod"] == 4 * 24 * 3600
    assert events["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert queues["EventsDeadLetterQueue"]["Properties"]["QueueName"] == "workflow-dev-events-dlq"
    # six times the consuming function's timeout
    for queue, function in [("JobsQueue", Function.WORKER), ("EventsQueue", Function.EVENTS)]:
        timeout = sam["Resources"][function.spec.logical_id]["Properties"]["Timeout"]
        assert queues[queue]["Properties"]["VisibilityTimeout"] == 6 * timeout


@pytest.mark.parametrize(
    ("function", "queue"), [(Function.WORKER, "JobsQueue"), (Function.EVENTS, "EventsQueue")]
)
def test_each_consumer_reads_its_queue_with_partial_batch_responses(sam, function, queue):
    events = sam["Resources"][function.spec.logical_id]["Properties"]["Events"]
    [source] = [event for event in events.values() if event["Type"] == "SQS"]
    assert source["Properties"]["Queue"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_each_function_logs_to_its_own_group_with_retention(sam):
    for function in Function:
        properties = sam["Resources"][function.spec.logical_id]["Properties"]
        assert properties["LoggingConfig"] == {"LogGroup": {"Ref": function.log_group}}
        group = sam["Resources"][function.log_group]["Properties"]
        assert group["LogGroupName"] == f"/aws/lambda/workflow-dev-{function.spec.short}"
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_api_throttling_and_access_logs(sam):
    api = sam["Resources"]["RestAPI"]["Properties"]
    assert api["Name"] == "workflow-dev"
    [setting] = api["MethodSettings"]
    assert setting["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert "$context.requestId" in api["AccessLogSetting"]["Format"]
    # the account's API Gateway logging role exists before the API (and so its stage)
    assert "ApiGatewayAccount" in sam["Resources"]["RestAPI"]["DependsOn"]


def test_gateway_responses_are_crest_envelopes_inside_the_api_definition(sam):
    body = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses = body["x-amazon-apigateway-gateway-responses"]
    for kind, code in [("MISSING_AUTHENTICATION_TOKEN", 404), ("UNAUTHORIZED", 401)]:
        template = responses[kind]["responseTemplates"]["application/json"]
        assert json.loads(template)["code"] == code
    assert not resources_of(sam, "AWS::ApiGateway::GatewayResponse")


def test_xml_bodies_reach_the_function_as_bytes(sam):
    """validate_bpmn decodes an XML body by its declared charset: API Gateway must pass the
    caller's bytes (a binary media type), not re-encode them as UTF-8 text."""
    body = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    binary = body["x-amazon-apigateway-binary-media-types"]
    assert "application/xml" in binary and "text/xml" in binary


def test_alarms_notify_the_optional_topic(sam):
    assert sam["Parameters"]["AlarmTopicArn"]["Default"] == ""
    alarms = resources_of(sam, "AWS::CloudWatch::Alarm")
    metrics = {
        (a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms.values()
    }
    assert {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("Workflow/workflow-dev", "DeadLetteredJobs"),
    } <= metrics
    for name, alarm in alarms.items():
        actions = alarm["Properties"]["AlarmActions"]
        assert actions["Fn::If"][0] == "HasAlarmTopic", name
    for function in Function:
        assert f"{function.spec.logical_id}ErrorsAlarm" in alarms
        assert f"{function.spec.logical_id}ThrottlesAlarm" in alarms
    events_dlq = alarms["EventsDeadLetterQueueAlarm"]["Properties"]
    assert events_dlq["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert events_dlq["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]}}
    ]
    assert "EventsQueueAgeAlarm" in alarms


def test_dead_letter_metric_matches_what_the_worker_logs(sam):
    """The metric filter counts the line ``service/jobs/retry.py`` logs on a dead letter."""
    from chalicelib.deploy.monitoring import DEAD_LETTER_LOG_TEXT
    from tests.support.env import REPO

    source = (REPO / "chalicelib" / "service" / "jobs" / "retry.py").read_text()
    assert DEAD_LETTER_LOG_TEXT in source
    [metric_filter] = resources_of(sam, "AWS::Logs::MetricFilter").values()
    assert metric_filter["Properties"]["LogGroupName"] == {"Ref": Function.WORKER.log_group}


def test_every_method_requires_the_cognito_authorizer(sam):
    """The dev stage trusts the authorizer (the default for a deployed stage)."""
    body = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    definition = body["securityDefinitions"]["CognitoUserPool"]
    assert definition["x-amazon-apigateway-authorizer"]["providerARNs"] == [
        {"Ref": "CognitoUserPoolArn"}
    ]
    assert "Default" not in sam["Parameters"]["CognitoUserPoolArn"]
    operations = [op for path in body["paths"].values() for op in path.values()]
    assert len(operations) > 53
    assert all(op["security"] == [{"CognitoUserPool": []}] for op in operations)
    environment = sam["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert environment["WORKFLOW_TRUST_AUTHORIZER"] == "true"
    assert "WORKFLOW_USERS_FILE" not in environment


def test_every_table_and_queue_the_stage_names_is_created(sam):
    """A new ``WORKFLOW_*_TABLE`` or ``WORKFLOW_*_QUEUE`` setting (an events queue, say) needs
    its resource in ``chalicelib/deploy/template.py`` and its actions in ``policies.py``."""
    environment = sam["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    created = {
        resource["Properties"].get("TableName") or resource["Properties"].get("QueueName")
        for resource in sam["Resources"].values()
        if resource["Type"] in ("AWS::DynamoDB::Table", "AWS::SQS::Queue")
    }
    missing = [
        f"{key}={value}"
        for key, value in environment.items()
        if key.startswith("WORKFLOW_") and key.endswith(("_TABLE", "_QUEUE"))
        if value not in created
    ]
    assert not missing, (
        f"{missing}: no resource in the template; add it to chalicelib/deploy/template.py and "
        f"the functions' actions on it to chalicelib/deploy/policies.py"
    )
