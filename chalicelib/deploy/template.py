"""The merge template ``chalice package --merge-template`` adds to the SAM template.

Chalice creates the functions, the API and the event source mappings; it creates no tables or
queues and cannot ask for partial batch responses. This template adds, from the same
declarations the storage layer uses (``storage.ports.INDEXES``):

* the four DynamoDB tables, on-demand, with their sparse GSIs, TTL on ``expires`` and
  point-in-time recovery;
* the jobs queue and its dead-letter queue (redrive after 5 receives, for undecodable messages);
* the inbound events queue (``WORKFLOW_EVENTS_QUEUE``, default ``workflow-events``) and its
  dead-letter queue, read by ``on_event_message`` (the event registry's inbound channels);
* ``FunctionResponseTypes: [ReportBatchItemFailures]`` on both queues' event sources, without
  which Lambda ignores ``batchItemFailures``;
* a gateway response that turns API Gateway's "Missing Authentication Token" (its answer for an
  unknown path) into a CREST 404 envelope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..settings import DEFAULT_EVENTS_QUEUE
from ..storage.ports import INDEXES, Table

__all__ = ["merge_template", "TABLE_SETTINGS", "JOB_HANDLER", "EVENT_HANDLER"]

#: stage environment variable holding each table's name
TABLE_SETTINGS = {
    Table.REPOSITORY: "WORKFLOW_REPOSITORY_TABLE",
    Table.RUNTIME: "WORKFLOW_RUNTIME_TABLE",
    Table.HISTORY: "WORKFLOW_HISTORY_TABLE",
    Table.DEADLETTER: "WORKFLOW_DEADLETTER_TABLE",
}
#: the ``app.py`` handler bound to the jobs queue (Chalice names its resources after it)
JOB_HANDLER = "on_job_message"
#: the ``app.py`` handler bound to the inbound events queue
EVENT_HANDLER = "on_event_message"
JOB_LAMBDA_TIMEOUT = 60
MAX_RECEIVE_COUNT = 5


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _table(table: Table, name: str) -> dict[str, Any]:
    attributes = {"pk", "sk"}
    indexes = []
    for index in INDEXES[table]:
        spec = index.spec
        attributes.update((spec.hash_attr, spec.range_attr))
        indexes.append(
            {
                "IndexName": spec.name,
                "KeySchema": [
                    {"AttributeName": spec.hash_attr, "KeyType": "HASH"},
                    {"AttributeName": spec.range_attr, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        )
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "Properties": {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": indexes,
            "TimeToLiveSpecification": {"AttributeName": "expires", "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    }


def merge_template(environment: Mapping[str, str]) -> dict[str, Any]:
    """The merge template for a stage, given that stage's environment variables."""
    queue = environment["WORKFLOW_JOBS_QUEUE"]
    function = _camel(JOB_HANDLER)
    resources: dict[str, Any] = {
        f"{table.name.title()}Table": _table(table, environment[setting])
        for table, setting in TABLE_SETTINGS.items()
    }
    resources["JobsDeadLetterQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": f"{queue}-dlq", "MessageRetentionPeriod": 1209600},
    }
    resources["JobsQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": queue,
            # AWS's guidance: at least six times the consuming function's timeout
            "VisibilityTimeout": 6 * JOB_LAMBDA_TIMEOUT,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]},
                "maxReceiveCount": MAX_RECEIVE_COUNT,
            },
        },
    }
    events_queue = environment.get("WORKFLOW_EVENTS_QUEUE") or DEFAULT_EVENTS_QUEUE
    resources["EventsDeadLetterQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": f"{events_queue}-dlq", "MessageRetentionPeriod": 1209600},
    }
    resources["EventsQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": events_queue,
            "VisibilityTimeout": 6 * JOB_LAMBDA_TIMEOUT,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]},
                "maxReceiveCount": MAX_RECEIVE_COUNT,
            },
        },
    }
    for handler in (function, _camel(EVENT_HANDLER)):
        resources[handler] = {
            "Properties": {
                "Events": {
                    f"{handler}SqsEventSource": {
                        "Properties": {"FunctionResponseTypes": ["ReportBatchItemFailures"]}
                    }
                }
            },
        }
    resources["UnknownPathIsCrest404"] = {
        "Type": "AWS::ApiGateway::GatewayResponse",
        "Properties": {
            "RestApiId": {"Ref": "RestAPI"},
            "ResponseType": "MISSING_AUTHENTICATION_TOKEN",
            "StatusCode": "404",
            "ResponseTemplates": {
                "application/json": (
                    '{"code": 404, "reason": "Not Found", '
                    '"message": "Resource \'$context.path\' not found"}'
                )
            },
        },
    }
    return {"Resources": resources}
