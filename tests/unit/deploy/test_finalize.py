"""chalicelib.deploy.finalize: the rewrites of Chalice's template a merge cannot express."""

from __future__ import annotations

import pytest

from chalicelib.deploy.finalize import finalize


def chalice_like() -> dict:
    queue = {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:q"}
    return {
        "Resources": {
            "OnJobMessage": {
                "Properties": {"Events": {"E": {"Type": "SQS", "Properties": {"Queue": queue}}}}
            },
            "OnEventMessage": {
                "Properties": {
                    "Events": {"V": {"Type": "SQS", "Properties": {"Queue": dict(queue)}}}
                }
            },
            "RestAPI": {
                "Properties": {
                    "DefinitionBody": {
                        "paths": {"/a": {"get": {}, "options": {}, "x-extension": {}}}
                    }
                }
            },
        }
    }


def test_the_queue_is_referenced_and_every_method_but_a_preflight_is_authorized():
    template = finalize(chalice_like(), authorizer="Pool")
    event = template["Resources"]["OnJobMessage"]["Properties"]["Events"]["E"]
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]}
    event = template["Resources"]["OnEventMessage"]["Properties"]["Events"]["V"]
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["EventsQueue", "Arn"]}
    path = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]["/a"]
    assert path == {"get": {"security": [{"Pool": []}]}, "options": {}, "x-extension": {}}


def test_without_an_authorizer_the_methods_are_left_alone():
    template = finalize(chalice_like(), authorizer=None)
    path = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]["/a"]
    assert path["get"] == {}


@pytest.mark.parametrize("function", ["OnJobMessage", "OnEventMessage"])
def test_a_consumer_without_its_queue_event_is_refused(function):
    template = chalice_like()
    template["Resources"][function]["Properties"]["Events"] = {}
    with pytest.raises(ValueError, match="one SQS event"):
        finalize(template, authorizer=None)
