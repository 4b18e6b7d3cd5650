"""Log groups, alarms and the API stage's throttling and access logs.

* A log group per function (``LoggingConfig`` points the function at it) and one for the API's
  access logs, each with ``LogRetentionDays``; deleted with the stack.
* Alarms, each notifying ``AlarmTopicArn`` when that parameter is set (alarm and recovery):
  messages in the jobs dead-letter queue, the oldest jobs-queue message older than 15 minutes,
  messages in the events dead-letter queue, the oldest events-queue message older than 15
  minutes (the events function failing or behind: its messages expire after 4 days),
  jobs moved to the dead-letter table (a metric filter on the worker's log line), the API's 5xx
  rate over 5 %, and per function any error or throttle.
"""

from __future__ import annotations

from typing import Any

from .names import API, API_STAGE, EVENTS_DLQ, EVENTS_QUEUE, JOBS_DLQ, JOBS_QUEUE, Function

__all__ = [
    "PARAMETERS",
    "CONDITIONS",
    "DEAD_LETTER_LOG_TEXT",
    "METRICS_NAMESPACE",
    "ACCESS_LOG_FORMAT",
    "log_groups",
    "alarms",
    "api_stage_settings",
]

LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827)

PARAMETERS: dict[str, Any] = {
    "AlarmTopicArn": {
        "Type": "String",
        "Default": "",
        "Description": "SNS topic the alarms notify (empty: alarms change state, notify nobody)",
    },
    "LogRetentionDays": {
        "Type": "Number",
        "Default": 30,
        "AllowedValues": list(LOG_RETENTION_DAYS),
        "Description": "Retention of the functions' and the API's log groups",
    },
    "ApiThrottlingRateLimit": {
        "Type": "Number",
        "Default": 100,
        "MinValue": 1,
        "Description": "API stage steady-state requests per second (every method)",
    },
    "ApiThrottlingBurstLimit": {
        "Type": "Number",
        "Default": 200,
        "MinValue": 1,
        "Description": "API stage burst of requests (every method)",
    },
}
CONDITIONS: dict[str, Any] = {
    "HasAlarmTopic": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}
}

#: what ``service/jobs/retry.py`` logs when a job runs out of retries
DEAD_LETTER_LOG_TEXT = "moved to the dead-letter table"
METRICS_NAMESPACE = "Workflow"

ACCESS_LOG_FORMAT = (
    '{"requestId": "$context.requestId", "ip": "$context.identity.sourceIp", '
    '"requestTime": "$context.requestTime", "method": "$context.httpMethod", '
    '"path": "$context.path", "status": "$context.status", '
    '"latencyMs": "$context.responseLatency", '
    '"integrationStatus": "$context.integrationStatus", '
    '"integrationLatencyMs": "$context.integrationLatency", '
    '"responseLength": "$context.responseLength", '
    '"userAgent": "$context.identity.userAgent", "error": "$context.error.message"}'
)


def _retention() -> dict[str, Any]:
    return {"Ref": "LogRetentionDays"}


def log_groups(prefix: str) -> dict[str, Any]:
    """Resources: a log group per function and the API's access log group."""
    resources: dict[str, Any] = {}
    for function in Function:
        resources[function.log_group] = {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": f"/aws/lambda/{prefix}-{function.spec.short}",
                "RetentionInDays": _retention(),
            },
        }
        # Lambda writes to the group the function names instead of /aws/lambda/<function>
        resources[function.spec.logical_id] = {
            "Properties": {"LoggingConfig": {"LogGroup": {"Ref": function.log_group}}}
        }
    resources["ApiAccessLogGroup"] = {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "LogGroupName": f"/aws/apigateway/{prefix}-access",
            "RetentionInDays": _retention(),
        },
    }
    resources["DeadLetteredJobsMetricFilter"] = {
        "Type": "AWS::Logs::MetricFilter",
        "Properties": {
            "LogGroupName": {"Ref": Function.WORKER.log_group},
            "FilterPattern": f'"{DEAD_LETTER_LOG_TEXT}"',
            "MetricTransformations": [
                {
                    "MetricNamespace": f"{METRICS_NAMESPACE}/{prefix}",
                    "MetricName": "DeadLetteredJobs",
                    "MetricValue": "1",
                    "DefaultValue": 0,
                }
            ],
        },
    }
    return resources


def _alarm(
    description: str,
    namespace: str,
    metric: str,
    dimensions: dict[str, Any],
    *,
    statistic: str = "Sum",
    threshold: float = 0,
    period: int = 60,
    periods: int = 1,
) -> dict[str, Any]:
    actions = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "Statistic": statistic,
            "Period": period,
            "EvaluationPeriods": periods,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": actions,
            "OKActions": actions,
        },
    }


def alarms(prefix: str, api_name: str) -> dict[str, Any]:
    """Resources: the alarms of the module docstring."""
    dlq = {"QueueName": {"Fn::GetAtt": [JOBS_DLQ, "QueueName"]}}
    queue = {"QueueName": {"Fn::GetAtt": [JOBS_QUEUE, "QueueName"]}}
    api = {"ApiName": api_name, "Stage": API_STAGE}
    resources: dict[str, Any] = {
        "JobsDeadLetterQueueAlarm": _alarm(
            "Undecodable job messages are in the jobs dead-letter queue",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            dlq,
            statistic="Maximum",
            period=300,
        ),
        "JobsQueueAgeAlarm": _alarm(
            "The oldest jobs-queue message waits for more than 15 minutes (workers behind)",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            queue,
            statistic="Maximum",
            threshold=900,
            period=300,
        ),
        "EventsDeadLetterQueueAlarm": _alarm(
            "Inbound events the events function failed 5 times are in the events dead-letter queue",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": {"Fn::GetAtt": [EVENTS_DLQ, "QueueName"]}},
            statistic="Maximum",
            period=300,
        ),
        "EventsQueueAgeAlarm": _alarm(
            "The oldest inbound event waits for more than 15 minutes (events function behind)",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"QueueName": {"Fn::GetAtt": [EVENTS_QUEUE, "QueueName"]}},
            statistic="Maximum",
            threshold=900,
            period=300,
        ),
        "DeadLetteredJobsAlarm": _alarm(
            "Jobs ran out of retries and were moved to the dead-letter table",
            f"{METRICS_NAMESPACE}/{prefix}",
            "DeadLetteredJobs",
            {},
            period=300,
        ),
        "Api5xxRateAlarm": _alarm(
            "More than 5 % of API requests answered 5xx over 5 minutes",
            "AWS/ApiGateway",
            "5XXError",
            api,
            statistic="Average",
            threshold=0.05,
            period=300,
        ),
    }
    for function in Function:
        name = {"FunctionName": {"Ref": function.spec.logical_id}}
        short = function.spec.short
        resources[f"{function.spec.logical_id}ErrorsAlarm"] = _alarm(
            f"The {short} function failed (Lambda Errors)",
            "AWS/Lambda",
            "Errors",
            name,
            period=300,
        )
        resources[f"{function.spec.logical_id}ThrottlesAlarm"] = _alarm(
            f"The {short} function was throttled (Lambda Throttles)",
            "AWS/Lambda",
            "Throttles",
            name,
            period=300,
        )
    return resources


def api_stage_settings(api_name: str) -> dict[str, Any]:
    """Merge-template fragment for the ``RestAPI`` (SAM ``AWS::Serverless::Api``) properties."""
    return {
        "Name": api_name,
        "MethodSettings": [
            {
                "ResourcePath": "/*",
                "HttpMethod": "*",
                "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
                "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
                "MetricsEnabled": True,
            }
        ],
        "AccessLogSetting": {
            "DestinationArn": {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
            "Format": ACCESS_LOG_FORMAT,
        },
    }


def api_logging_role() -> dict[str, Any]:
    """The account-level role API Gateway needs to write access logs (``AWS::ApiGateway::Account``
    is one setting per account and region). Kept when the stack is deleted, so another stack's
    API that relies on the setting keeps logging."""
    return {
        "ApiGatewayLoggingRole": {
            "Type": "AWS::IAM::Role",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "apigateway.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": [
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                        "AmazonAPIGatewayPushToCloudWatchLogs"
                    }
                ],
            },
        },
        "ApiGatewayAccount": {
            "Type": "AWS::ApiGateway::Account",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayLoggingRole", "Arn"]}},
        },
        API: {"DependsOn": ["ApiGatewayAccount"]},
    }
