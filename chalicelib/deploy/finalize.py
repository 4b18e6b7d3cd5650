"""Rewrites of Chalice's SAM template that a merge template cannot express.

A merge template merges dicts key by key, so it cannot replace Chalice's queue ARN (an
``Fn::Sub`` built from the queue name, with no dependency on the queue) by a reference, and it
cannot add a property to every method of the API definition. ``finalize`` does both on the
packaged ``sam.json``:

* the jobs-queue and events-queue event sources name their queue by ``Fn::GetAtt [JobsQueue,
  Arn]`` and ``Fn::GetAtt [EventsQueue, Arn]``, so a first stack create makes the queue before
  the event source mapping;
* on a stage that trusts the authorizer, every method requires the Cognito authorizer.
"""

from __future__ import annotations

from typing import Any

from .names import API, EVENTS_QUEUE, JOBS_QUEUE, Function

__all__ = ["finalize", "HTTP_METHODS"]

#: the operations that require the authorizer (not a CORS preflight ``options``: it carries no
#: token)
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head"})


def _sqs_events(function: dict[str, Any]) -> list[dict[str, Any]]:
    events = function.get("Properties", {}).get("Events", {})
    return [event for event in events.values() if event.get("Type") == "SQS"]


def finalize(template: dict[str, Any], *, authorizer: str | None) -> dict[str, Any]:
    """Rewrite ``template`` in place (and return it); ``authorizer``: the security definition
    every method requires, or None."""
    resources = template["Resources"]
    for function, queue in ((Function.WORKER, JOBS_QUEUE), (Function.EVENTS, EVENTS_QUEUE)):
        events = _sqs_events(resources[function.spec.logical_id])
        if len(events) != 1:
            raise ValueError(
                f"expected one SQS event on the {function.spec.short} function, found {len(events)}"
            )
        events[0]["Properties"]["Queue"] = {"Fn::GetAtt": [queue, "Arn"]}
    if authorizer is not None:
        paths = resources[API]["Properties"]["DefinitionBody"]["paths"]
        for operations in paths.values():
            for method, operation in operations.items():
                if method in HTTP_METHODS:
                    operation["security"] = [{authorizer: []}]
    return template
