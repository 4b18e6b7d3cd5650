"""HTTP calls through Chalice's test client, and the CREST checks every route test makes."""

from __future__ import annotations

import json

#: The administrator of the test users, and a user who authenticates but has no workflow rights.
ADMIN = {
    "X-OpenIDM-Username": "openidm-admin",
    "X-OpenIDM-Password": "openidm-admin",
    "Accept-API-Version": "resource=1.0",
}
ANONYMOUS = {"X-OpenIDM-Username": "anonymous", "X-OpenIDM-Password": "anonymous"}

WF = "/openidm/workflow"


JSON_HEADERS = dict(ADMIN, **{"Content-Type": "application/json"})


SIMPLE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <process id="{key}" name="{name}">
    <startEvent id="start" flowable:formKey="{form}"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <userTask id="review" name="Review" flowable:assignee="openidm-admin"/>
    <sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


def simple_bpmn(key: str = "simple", name: str = "Simple process", form: str = "form.js") -> str:
    return SIMPLE_BPMN.format(key=key, name=name, form=form)


def body(response) -> dict:
    return json.loads(response.body)


def expect(response, code: int, *fragments: str) -> dict:
    """The JSON body of ``response`` after checking its status (and error message fragments)."""
    assert response.status_code == code, response.body
    data = body(response)
    if code >= 400:
        assert data["code"] == code and data["reason"]
        for fragment in fragments:
            assert fragment in data["message"], data["message"]
    return data


def call(client, method: str, path: str, payload=None, headers=None, **extra):
    sent = dict(headers or JSON_ADMIN, **extra)
    data = None if payload is None else json.dumps(payload)
    return client.http.request(method, f"{WF}/{path}", headers=sent, body=data)


def ids(data: dict) -> list[str]:
    return [item["_id"] for item in data["result"]]


JSON_ADMIN = JSON_HEADERS


def post(client, path: str, payload=None, headers=None):
    return client.http.post(
        f"{WF}/{path}",
        headers=headers or JSON_HEADERS,
        body=json.dumps(payload).encode() if payload is not None else b"",
    )


def create_model(client, **fields) -> dict:
    payload = {"name": "Simple", **fields}
    return expect(post(client, "model", payload), 201)
