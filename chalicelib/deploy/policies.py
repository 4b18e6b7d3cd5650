"""Least-privilege IAM policies: one per function, naming only this stack's resources.

Every resource is a ``Fn::GetAtt`` (or a ``Fn::Sub`` on one) of a table, index, queue or log
group of the same template, so a stage's roles can reach nothing of another stage or account;
the two exceptions are the outbound channels' queues and the SES identities (below). The
actions are those the code calls (``storage/dynamo/store.py``, ``messaging/sqs.py``,
``messaging/ses.py``):

* API function: the item store on the four tables (GetItem, BatchGetItem, Query, the writes of
  a transaction, BatchWriteItem), sending to the jobs queue (never receiving or deleting), to
  the outbound channels' queues and mail (``job/{id}?_action=execute`` runs a ``send-event`` or
  ``mail-task`` job);
* worker (``on_job_message``): the same store actions, sending follow-up jobs, sending to the
  outbound channels' queues (``send-event`` jobs, ``service/events/outbound.py``), sending mail
  (``mail-task`` jobs, ``messaging/ses.py``), and what the SQS event source mapping needs
  through the function's role (ReceiveMessage, DeleteMessage, GetQueueAttributes) on the jobs
  queue;
* inbound events (``on_event_message``): the same store actions (``service/events/inbound.py``
  starts and correlates instances as the API does, and records dead letters), sending the jobs
  its starts and correlations create, and the event source mapping's actions on the events
  queue; it sends no outbound event (those are ``send-event`` jobs, run by the worker);
* sweep (``sweep_due_jobs``): Query on the runtime table's due-date index only, and sending to
  the jobs queue;
* each: CreateLogStream and PutLogEvents on its own log group (the template creates the group,
  so no CreateLogGroup), and, on a stage whose users file is an SSM parameter
  (``WORKFLOW_USERS_FILE=ssm:<name>``), GetParameter on that one parameter (every function
  builds the container, users included, at its cold start).

Outbound sqs channels are deployed at run time with the queue of their ``destination``, so no
template can name those queues: the API and worker roles may send to the queues of this
account and region whose name starts with ``names.outbound_queue_prefix`` (``<app>-<stage>-out-``,
docs/deploying.md). A channel naming another queue deploys, but its sends are denied (the
``send-event`` job fails, is retried, then dead-lettered). External worker topics' queues
(``WORKFLOW_WORKER_TOPICS``, or an outbound channel keyed like the topic) are sent to by the
same roles (the worker runs ``external-worker`` jobs, the API ``job/{id}?_action=execute``), so
they follow the same naming rule: ``<app>-<stage>-out-*``. Outbound ``sns`` and
``eventbridge`` channels too: the same roles may publish to the topics and put events on the
buses of this account and region named by that prefix.

Mail tasks send from the address of their ``from`` field (an expression, say) or
``WORKFLOW_MAIL_FROM``, so the API and worker roles may ``ses:SendRawEmail`` as any SES
identity of this account in the SES region (``WORKFLOW_SES_REGION``, else the stack's):
``identity/*``, the other wildcard. SES itself sends only from identities the account has
verified there.

No function reads an SQS dead-letter queue (they only hold undecodable messages for an
operator).
"""

from __future__ import annotations

from typing import Any

from ..storage.ports import INDEXES, Index, Table
from .names import EVENTS_QUEUE, JOBS_QUEUE, Function

__all__ = [
    "STORE_ACTIONS",
    "SEND_ACTIONS",
    "RECEIVE_ACTIONS",
    "LOG_ACTIONS",
    "table_logical_id",
    "function_policy",
    "parameter_arn",
    "outbound_queues_arn",
    "MAIL_ACTIONS",
    "TOPIC_ACTIONS",
    "BUS_ACTIONS",
    "outbound_topics_arn",
    "queue_arn",
    "outbound_buses_arn",
    "ses_identities_arn",
    "role_policies",
]

#: what ``DynamoStore`` calls: reads, the item writes of TransactWriteItems, batch writes
STORE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:BatchWriteItem",
)
#: SendMessageBatch is authorised by sqs:SendMessage (there is no sqs:SendMessageBatch action)
SEND_ACTIONS = ("sqs:GetQueueUrl", "sqs:SendMessage")
#: what Lambda's SQS event source mapping does with the function's role
RECEIVE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
#: what ``messaging/ses.py`` calls
MAIL_ACTIONS = ("ses:SendRawEmail",)
#: outbound sns and eventbridge channels (``service/events/outbound.py``)
TOPIC_ACTIONS = ("sns:Publish",)
BUS_ACTIONS = ("events:PutEvents",)


def table_logical_id(table: Table) -> str:
    return f"{table.name.title()}Table"


def _arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _index_arn(table: Table, index: Index) -> dict[str, Any]:
    return {"Fn::Sub": f"${{{table_logical_id(table)}.Arn}}/index/{index.spec.name}"}


def _store_resources() -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    for table, indexes in INDEXES.items():
        resources.append(_arn(table_logical_id(table)))
        resources.extend(_index_arn(table, index) for index in indexes)
    return resources


def _statement(sid: str, actions: tuple[str, ...], resources: list[Any]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resources}


def parameter_arn(name: str) -> dict[str, Any]:
    """The ARN of the SSM parameter ``name`` in this stack's account and region."""
    return {
        "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/"
        + name.lstrip("/")
    }


def queue_arn(name: str) -> dict[str, Any]:
    """The ARN of the queue ``name`` of this account and region (not one of the stack's)."""
    return {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:" + name}


def outbound_queues_arn(prefix: str) -> dict[str, Any]:
    """The queues of this account and region whose name starts with ``prefix``."""
    return {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:" + prefix + "*"}


def outbound_topics_arn(prefix: str) -> dict[str, Any]:
    """The SNS topics of this account and region whose name starts with ``prefix``."""
    return {"Fn::Sub": "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:" + prefix + "*"}


def outbound_buses_arn(prefix: str) -> dict[str, Any]:
    """The EventBridge event buses of this account and region whose name starts with
    ``prefix``."""
    return {
        "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/"
        + prefix
        + "*"
    }


def ses_identities_arn(region: str | None = None) -> dict[str, Any]:
    """Every SES identity of this account in ``region`` (None: the stack's region)."""
    where = region or "${AWS::Region}"
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:ses:{where}:${{AWS::AccountId}}:identity/*"}


def function_policy(
    function: Function,
    users_parameter: str | None = None,
    outbound_prefix: str | None = None,
    ses_region: str | None = None,
    secret_parameters: tuple[str, ...] = (),
    inbound_queues: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The policy document of ``function``'s role (``users_parameter``: the SSM parameter
    holding the users file, if any; ``outbound_prefix``: the outbound channels' queue names'
    prefix, None: no outbound sends; ``ses_region``: ``WORKFLOW_SES_REGION``, None: the
    stack's region; ``secret_parameters``: the SSM parameters of HTTP task secrets, read by the
    functions that run ``http-task`` jobs; ``inbound_queues``: ``WORKFLOW_INBOUND_QUEUES``, read
    by the events function besides the events queue)."""
    logs = _statement("OwnLogGroup", LOG_ACTIONS, [_arn(function.log_group)])
    send = _statement("SendJobs", SEND_ACTIONS, [_arn(JOBS_QUEUE)])
    if function is Function.SWEEP:
        due = _index_arn(Table.RUNTIME, Index.DUE_SHARD_DUE_AT)
        statements = [logs, _statement("DueJobs", ("dynamodb:Query",), [due]), send]
    else:
        statements = [logs, _statement("ItemStore", STORE_ACTIONS, _store_resources()), send]
        if function is Function.WORKER:
            statements.append(_statement("ReceiveJobs", RECEIVE_ACTIONS, [_arn(JOBS_QUEUE)]))
        if function is Function.EVENTS:
            statements.append(
                _statement(
                    "ReceiveEvents",
                    RECEIVE_ACTIONS,
                    [_arn(EVENTS_QUEUE), *(queue_arn(name) for name in inbound_queues)],
                )
            )
        else:
            if outbound_prefix:
                statements.append(
                    _statement("SendOutbound", SEND_ACTIONS, [outbound_queues_arn(outbound_prefix)])
                )
                statements.append(
                    _statement(
                        "PublishOutbound", TOPIC_ACTIONS, [outbound_topics_arn(outbound_prefix)]
                    )
                )
                statements.append(
                    _statement(
                        "PutOutboundEvents", BUS_ACTIONS, [outbound_buses_arn(outbound_prefix)]
                    )
                )
            statements.append(
                _statement("SendMail", MAIL_ACTIONS, [ses_identities_arn(ses_region)])
            )
            if secret_parameters:
                statements.append(
                    _statement(
                        "HttpSecrets",
                        ("ssm:GetParameter",),
                        [parameter_arn(name) for name in secret_parameters],
                    )
                )
    if users_parameter:
        statements.append(
            _statement("UsersParameter", ("ssm:GetParameter",), [parameter_arn(users_parameter)])
        )
    return {"Version": "2012-10-17", "Statement": statements}


def role_policies(
    users_parameter: str | None = None,
    outbound_prefix: str | None = None,
    ses_region: str | None = None,
    secret_parameters: tuple[str, ...] = (),
    inbound_queues: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Merge-template fragments replacing the policies Chalice gives each role (a list in the
    merge template replaces Chalice's list whole)."""
    return {
        function.spec.role: {
            "Properties": {
                "Policies": [
                    {
                        "PolicyName": f"{function.spec.logical_id}Policy",
                        "PolicyDocument": function_policy(
                            function,
                            users_parameter,
                            outbound_prefix,
                            ses_region,
                            secret_parameters,
                        ),
                    }
                ]
            }
        }
        for function in Function
    }
