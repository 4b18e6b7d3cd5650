"""The merge template ``chalice package --merge-template`` adds to the SAM template.

Chalice creates the functions, their roles, the API and the event source mappings; it creates
no tables, queues, log groups or alarms and cannot ask for partial batch responses. This
template adds, from the same declarations the storage layer uses (``storage.ports.INDEXES``):

* the four DynamoDB tables, on-demand, with their sparse GSIs, TTL on ``expires`` and
  point-in-time recovery, kept (``Retain``) on stack deletion and on replacement;
* the jobs queue and its dead-letter queue (redrive after 5 receives, for undecodable
  messages), retention set, deleted with the stack (the jobs queue only carries wake-ups: the
  sweep re-sends every due job from the runtime table);
* the inbound events queue (``WORKFLOW_EVENTS_QUEUE``) and its dead-letter queue, same redrive,
  with longer retention: an inbound event is the data itself (nothing re-sends it), so a
  backlog or an outage of the events function must not expire it;
* ``FunctionResponseTypes: [ReportBatchItemFailures]`` on the jobs-queue and events-queue event
  sources, without which Lambda ignores ``batchItemFailures``;
* one least-privilege policy per function (``policies.py``), log groups, alarms, API throttling
  and access logs (``monitoring.py``);
* inside the API definition (so every deployment carries them): gateway responses that turn API
  Gateway's "Missing Authentication Token" (its answer for an unknown path) into a CREST 404
  and its own 401/403 answers into CREST envelopes, and, on a stage that trusts the authorizer
  (``WORKFLOW_TRUST_AUTHORIZER``), the Cognito user pool authorizer of ``CognitoUserPoolArn``.

What the merge cannot replace (Chalice's built-up queue ARNs, the per-method authorizer) is
rewritten afterwards by ``finalize.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..settings import DEFAULT_EVENTS_QUEUE, HTTP_SECRET_PREFIX
from ..storage.ports import INDEXES, Table
from . import monitoring
from .names import (
    API,
    EVENT_HANDLER,
    EVENTS_DLQ,
    EVENTS_QUEUE,
    JOB_HANDLER,
    JOBS_DLQ,
    JOBS_QUEUE,
    camel,
    outbound_queue_prefix,
)
from .policies import queue_arn, role_policies, table_logical_id

__all__ = [
    "merge_template",
    "deep_merge",
    "trusts_authorizer",
    "users_parameter",
    "TABLE_SETTINGS",
    "JOB_HANDLER",
    "EVENT_HANDLER",
    "AUTHORIZER",
    "GATEWAY_RESPONSES",
]

#: stage environment variable holding each table's name
TABLE_SETTINGS = {
    Table.REPOSITORY: "WORKFLOW_REPOSITORY_TABLE",
    Table.RUNTIME: "WORKFLOW_RUNTIME_TABLE",
    Table.HISTORY: "WORKFLOW_HISTORY_TABLE",
    Table.DEADLETTER: "WORKFLOW_DEADLETTER_TABLE",
}
#: ``lambda_timeout`` of ``on_job_message`` and ``on_event_message`` (``.chalice/config.json``)
JOB_LAMBDA_TIMEOUT = 60
EVENT_LAMBDA_TIMEOUT = 60
MAX_RECEIVE_COUNT = 5
#: jobs-queue messages are wake-ups (the sweep re-sends due jobs), 4 days is plenty
JOBS_RETENTION_SECONDS = 4 * 24 * 3600
#: inbound events are the data (the sender does not keep them): 4 days outlasts a long weekend
#: of the events function failing or throttled; the alarms fire long before
EVENTS_RETENTION_SECONDS = 4 * 24 * 3600
#: the dead-letter queues keep undecodable messages for an operator as long as SQS allows
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
#: name of the Cognito user pool authorizer in the API definition
AUTHORIZER = "CognitoUserPool"


def _crest(code: int, reason: str, message: str) -> dict[str, Any]:
    body = f'{{"code": {code}, "reason": "{reason}", "message": "{message}"}}'
    return {"statusCode": str(code), "responseTemplates": {"application/json": body}}


#: API Gateway's own answers, as CREST envelopes (``x-amazon-apigateway-gateway-responses``)
GATEWAY_RESPONSES: dict[str, Any] = {
    "MISSING_AUTHENTICATION_TOKEN": _crest(404, "Not Found", "Resource '$context.path' not found"),
    "UNAUTHORIZED": _crest(401, "Unauthorized", "Access Denied"),
    "ACCESS_DENIED": _crest(403, "Forbidden", "Access Denied"),
    "THROTTLED": _crest(429, "Too Many Requests", "Too many requests; retry later"),
    "INTEGRATION_TIMEOUT": _crest(504, "Gateway Timeout", "The request took too long"),
}


#: ``WORKFLOW_USERS_FILE`` prefix naming an SSM parameter (``bootstrap.USERS_PARAMETER_PREFIX``)
USERS_PARAMETER_PREFIX = "ssm:"


def users_parameter(environment: Mapping[str, str]) -> str | None:
    """The SSM parameter holding the stage's users file, if ``WORKFLOW_USERS_FILE`` names one."""
    value = environment.get("WORKFLOW_USERS_FILE", "").strip()
    return value.removeprefix(USERS_PARAMETER_PREFIX) if value.startswith("ssm:") else None


def secret_parameters(environment: Mapping[str, str]) -> tuple[str, ...]:
    """The SSM parameters the stage's HTTP task secrets name (``WORKFLOW_HTTP_SECRET_<NAME>=
    ssm:<parameter>``): the jobs that send them read exactly these."""
    return tuple(
        sorted(
            value.strip().removeprefix(USERS_PARAMETER_PREFIX)
            for name, value in environment.items()
            if name.startswith(HTTP_SECRET_PREFIX) and value.strip().startswith("ssm:")
        )
    )


def trusts_authorizer(environment: Mapping[str, str]) -> bool:
    """Whether the stage takes its callers from API Gateway's authorizer."""
    value = environment.get("WORKFLOW_TRUST_AUTHORIZER", "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` merged into ``base`` (dicts merged key by key, anything else replaced)."""
    for key, value in extra.items():
        current = base.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            deep_merge(current, value)
        else:
            base[key] = value
    return base


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
        "UpdateReplacePolicy": "Retain",
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


def _queue_pair(
    logical_id: str, dlq_logical_id: str, name: str, *, retention: int, timeout: int
) -> dict[str, Any]:
    # Deleted with the stack (and on replacement) on purpose, both queues: the jobs queue only
    # carries wake-ups (the sweep re-sends every due job from the runtime table); the events
    # queue's messages are the data, but a stack deleted is a stage retired, and a Retain'ed
    # queue would block re-creating the stage (same QueueName). Longer retention, not Retain,
    # is what protects inbound events.
    return {
        dlq_logical_id: {
            "Type": "AWS::SQS::Queue",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "QueueName": f"{name}-dlq",
                "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
            },
        },
        logical_id: {
            "Type": "AWS::SQS::Queue",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "QueueName": name,
                "MessageRetentionPeriod": retention,
                # AWS's guidance: at least six times the consuming function's timeout
                "VisibilityTimeout": 6 * timeout,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [dlq_logical_id, "Arn"]},
                    "maxReceiveCount": MAX_RECEIVE_COUNT,
                },
            },
        },
    }


def _queues(jobs_queue: str, events_queue: str) -> dict[str, Any]:
    return {
        **_queue_pair(
            JOBS_QUEUE,
            JOBS_DLQ,
            jobs_queue,
            retention=JOBS_RETENTION_SECONDS,
            timeout=JOB_LAMBDA_TIMEOUT,
        ),
        **_queue_pair(
            EVENTS_QUEUE,
            EVENTS_DLQ,
            events_queue,
            retention=EVENTS_RETENTION_SECONDS,
            timeout=EVENT_LAMBDA_TIMEOUT,
        ),
    }


def _partial_batch_responses(handler: str) -> dict[str, Any]:
    function = camel(handler)
    source = f"{function}SqsEventSource"
    properties = {"FunctionResponseTypes": ["ReportBatchItemFailures"]}
    return {function: {"Properties": {"Events": {source: {"Properties": properties}}}}}


def inbound_queues(environment: Mapping[str, str]) -> tuple[str, ...]:
    """``WORKFLOW_INBOUND_QUEUES``: the other queues the inbound events function reads."""
    raw = environment.get("WORKFLOW_INBOUND_QUEUES", "")
    return tuple(name.strip() for name in raw.split(",") if name.strip())


def _inbound_queue_sources(queues: tuple[str, ...]) -> dict[str, Any]:
    """One SQS event source of the events function per inbound channel queue, as the events
    queue's (batches of 10, partial batch responses). The queues are the integrators': the
    stack neither creates nor deletes them."""
    if not queues:
        return {}
    events = {
        f"InboundQueue{n}SqsEventSource": {
            "Type": "SQS",
            "Properties": {
                "Queue": queue_arn(name),
                "BatchSize": 10,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
            },
        }
        for n, name in enumerate(queues, 1)
    }
    return {camel(EVENT_HANDLER): {"Properties": {"Events": events}}}


def _api_definition(authorizer: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"x-amazon-apigateway-gateway-responses": GATEWAY_RESPONSES}
    if authorizer:
        body["securityDefinitions"] = {
            AUTHORIZER: {
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "x-amazon-apigateway-authtype": "cognito_user_pools",
                "x-amazon-apigateway-authorizer": {
                    "type": "cognito_user_pools",
                    "providerARNs": [{"Ref": "CognitoUserPoolArn"}],
                },
            }
        }
    return body


def merge_template(
    environment: Mapping[str, str], *, stage: str = "dev", app_name: str = "workflow"
) -> dict[str, Any]:
    """The merge template for a stage, given that stage's environment variables."""
    prefix = f"{app_name}-{stage}"
    api_name = prefix
    authorizer = trusts_authorizer(environment)
    parameters = dict(monitoring.PARAMETERS)
    if authorizer:
        parameters["CognitoUserPoolArn"] = {
            "Type": "String",
            "AllowedPattern": r"arn:aws[\w-]*:cognito-idp:[\w-]+:\d{12}:userpool/[\w-]+_\w+",
            "Description": "Cognito user pool whose ID tokens the API accepts (Authorization)",
        }
    resources: dict[str, Any] = {
        table_logical_id(table): _table(table, environment[setting])
        for table, setting in TABLE_SETTINGS.items()
    }
    events_queue = environment.get("WORKFLOW_EVENTS_QUEUE", "").strip() or DEFAULT_EVENTS_QUEUE
    resources.update(_queues(environment["WORKFLOW_JOBS_QUEUE"], events_queue))
    fragments = [
        _partial_batch_responses(JOB_HANDLER),
        _partial_batch_responses(EVENT_HANDLER),
        _inbound_queue_sources(inbound_queues(environment)),
        {
            API: {
                "Properties": {
                    "DefinitionBody": _api_definition(authorizer),
                    **monitoring.api_stage_settings(api_name),
                }
            },
        },
        role_policies(
            users_parameter(environment),
            outbound_queue_prefix(app_name, stage),
            environment.get("WORKFLOW_SES_REGION", "").strip() or None,
            secret_parameters(environment),
            inbound_queues(environment),
        ),
        monitoring.log_groups(prefix),
        monitoring.alarms(prefix, api_name),
        monitoring.api_logging_role(),
    ]
    for fragment in fragments:
        deep_merge(resources, fragment)
    return {
        "Parameters": parameters,
        "Conditions": dict(monitoring.CONDITIONS),
        "Resources": resources,
    }
