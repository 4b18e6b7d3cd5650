"""Deploy-time checks of action tasks against the stage's settings: nothing is accepted now to
fail later (DECISIONS.md).

- HTTP task: refused while ``WORKFLOW_HTTP_ALLOW`` is empty; a ``requestUrl`` written as a
  plain string must start with an allowed prefix (an expression is checked when the job runs).
- Mail task: a sender, from its ``from`` field or ``WORKFLOW_MAIL_FROM``.
- External worker task: a topic written as a plain string needs a queue, from
  ``WORKFLOW_WORKER_TOPICS`` or an outbound ``sqs`` channel whose key is the topic (deployed
  with it or before).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ...engine.elements import FlowNode
from ...engine.model import ProcessDefinitionModel
from ...settings import Settings

__all__ = ["allowed_prefix", "topic_queue", "check_actions"]

#: what may follow an allowed prefix in a URL: the prefix ends at a path, query or fragment
_BOUNDARY = ("/", "?", "#")


def allowed_prefix(url: str, allow: Iterable[str]) -> str | None:
    """The first allow-list entry ``url`` starts with, at a boundary (``https://a.example``
    allows ``https://a.example/x`` but not ``https://a.example.evil.net``); None if none."""
    for prefix in allow:
        if not url.startswith(prefix):
            continue
        rest = url[len(prefix) :]
        if not rest or prefix.endswith(_BOUNDARY) or rest.startswith(_BOUNDARY):
            return prefix
    return None


def topic_queue(settings: Settings, topic: str, channel: Callable[[str], Any | None]) -> str | None:
    """The SQS queue an external worker topic publishes to: ``WORKFLOW_WORKER_TOPICS``, else
    the destination of the outbound ``sqs`` channel keyed like the topic (``channel(key)``
    returns a ``ChannelDefinition`` or None)."""
    if topic in settings.worker_topics:
        return str(settings.worker_topics[topic])
    found = channel(topic)
    if (
        found is not None
        and found.channel_type == "outbound"
        and found.type == "sqs"
        and found.destination
    ):
        return str(found.destination)
    return None


def _literal(node: FlowNode, name: str) -> str | None:
    for item in getattr(node, "fields", ()):
        if item.name == name and item.expression is None:
            return item.string_value
    return None


def _has_field(node: FlowNode, name: str) -> bool:
    return any(item.name == name for item in getattr(node, "fields", ()))


def _problem(process: ProcessDefinitionModel, node: FlowNode, code: str, text: str) -> dict:
    return {
        "problem": code,
        "defaultDescription": text,
        "activityId": node.id,
        "activityName": node.name,
        "processDefinitionId": process.key,
        "xmlLineNumber": node.line,
        "xmlColumnNumber": node.column,
        "isWarning": False,
    }


def check_actions(
    settings: Settings,
    processes: Iterable[ProcessDefinitionModel],
    channel: Callable[[str], Any | None],
) -> list[dict[str, Any]]:
    """Every problem of the processes' action tasks (see the module doc), in the shape of
    ``validate_bpmn``'s errors."""
    # the engine's behaviours load the expression parser: on first use, not at a cold start
    from ...engine.runtime.behaviours.action_tasks import EXTERNAL_WORKER, is_action_task

    problems: list[dict[str, Any]] = []
    for process in processes:
        for node in process.elements.values():
            if not is_action_task(node):
                continue
            kind = getattr(node, "type", None)
            if kind == "http":
                url = _literal(node, "requestUrl")
                if not settings.http_allow:
                    problems.append(
                        _problem(
                            process,
                            node,
                            "http-task-not-allowed",
                            "HTTP tasks are disabled on this stage: set WORKFLOW_HTTP_ALLOW to "
                            "the URL prefixes they may call",
                        )
                    )
                elif url is not None and "${" not in url and "#{" not in url:
                    if allowed_prefix(url.strip(), settings.http_allow) is None:
                        problems.append(
                            _problem(
                                process,
                                node,
                                "http-task-url-not-allowed",
                                f"requestUrl '{url.strip()}' is not under any prefix of "
                                "WORKFLOW_HTTP_ALLOW",
                            )
                        )
            elif kind == "mail":
                if not settings.mail_from and not _has_field(node, "from"):
                    problems.append(
                        _problem(
                            process,
                            node,
                            "mail-task-no-sender",
                            "a mail task needs the field from, or the setting WORKFLOW_MAIL_FROM",
                        )
                    )
            elif kind == EXTERNAL_WORKER:
                topic = (getattr(node, "topic", None) or "").strip()
                if topic and "${" not in topic and "#{" not in topic:
                    if topic_queue(settings, topic, channel) is None:
                        problems.append(
                            _problem(
                                process,
                                node,
                                "external-worker-topic-unknown",
                                f"topic '{topic}' has no queue: name it in "
                                "WORKFLOW_WORKER_TOPICS (topic=queue) or deploy an outbound "
                                f"sqs channel with key '{topic}'",
                            )
                        )
    return problems
