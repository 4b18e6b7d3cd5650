"""Processes started through ``processinstance``: one that waits at a task, one that ends at once."""

from __future__ import annotations

import json
from urllib.parse import quote

from chalicelib import aws
from tests.support.rest import ADMIN, WF, expect

JSON = {**ADMIN, "Content-Type": "application/json"}

WAITING = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <process id="{key}" name="{name}" isExecutable="true">
    <startEvent id="begin" flowable:initiator="initiator"/>
    <sequenceFlow id="f1" sourceRef="begin" targetRef="prepare"/>
    <scriptTask id="prepare" scriptFormat="javascript">
      <script>execution.setVariable("prepared", "yes " + execution.getVariable("initiator"));</script>
    </scriptTask>
    <sequenceFlow id="f2" sourceRef="prepare" targetRef="approve"/>
    <userTask id="approve" name="Approve" flowable:candidateGroups="manager"/>
    <sequenceFlow id="f3" sourceRef="approve" targetRef="finish"/>
    <endEvent id="finish"/>
  </process>
</definitions>"""


QUICK = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="Tests">
  <process id="quick" name="Quick" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"""


#: a variable whose JSON passes the 4 KB a header (or historic process item) lists: its
#: instance's variables are read on their own
BIG_DOC = {"a": [1, 2], "text": "x" * 4200}
#: more variables than a header names (``instances.VARIABLE_NAMES_MAX``), over 4 KB of them:
#: their instance's variables are read by one Query of their own
MANY_VARIABLES = {f"v{number:03}": "y" * 50 for number in range(101)}


def deploy(container, key="onboard", name="Onboarding", bpmn=None) -> str:
    from chalicelib.service.definitions.deploy import deploy as deploy_bpmn

    text = bpmn or WAITING.format(key=key, name=name)
    return deploy_bpmn(
        container, source=f"test:{key}:{hash(text)}", name=key, bpmn={f"{key}.bpmn20.xml": text}
    ).definition_ids[0]


def start(client, payload, headers=JSON, action=True):
    path = f"{WF}/processinstance" + ("?_action=create" if action else "")
    return client.http.post(path, headers=headers, body=json.dumps(payload).encode())


def start_alphas(client, container, first: int, last: int) -> list[str]:
    """Start instances of ``alpha`` with ``n`` = ``first`` .. ``last - 1``, one second apart;
    their ids."""
    started = []
    for n in range(first, last):
        started.append(expect(start(client, {"_key": "alpha", "n": n}), 201)["_id"])
        container.clock.advance(seconds=1)
    return started


def complete_task_of(client, instance_id: str) -> None:
    """Complete the one open task of an instance through the REST API (no variables)."""
    [task] = query(
        client, f"{WF}/taskinstance", f"_queryId=filtered-query&processInstanceId={instance_id}"
    )["result"]
    path = f"{WF}/taskinstance/{task['_id']}?_action=complete"
    headers = {**ADMIN, "Content-Type": "application/json"}
    expect(client.http.post(path, headers=headers, body=b"{}"), 200)


#: a process whose call activity starts ``alpha`` (super-instance queries)
CALLER = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="Tests">
  <process id="caller" name="Caller" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="call"/>
    <callActivity id="call" calledElement="alpha"/>
    <sequenceFlow id="f2" sourceRef="call" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"""


def query(client, path: str, params: str) -> dict:
    """The envelope of ``GET <path>?<params>`` as the admin (200 asserted)."""
    return expect(client.http.get(f"{path}?{params}", headers=ADMIN), 200)


def counted_query(client, path: str, params: str) -> tuple[dict, dict]:
    """``query`` and the DynamoDB requests it made, by operation."""
    with aws.counting() as counter:
        data = query(client, path, params)
    return data, dict(counter.counts.get("dynamodb", {}))


def follow_cookies(
    client, path: str, params: str, *, most: int = 80
) -> tuple[list[str], list[dict]]:
    """Every id ``GET <WF>/<path>?<params>`` answers and the envelopes, following its cookies
    (an offset applies to the first page only); a 400 answers ``([], [its envelope])``.
    Fails past ``most`` pages (cookies that never end)."""
    found: list[str] = []
    envelopes: list[dict] = []
    url = f"{WF}/{path}?{params}"
    kept = "&".join(p for p in params.split("&") if not p.startswith("_pagedResultsOffset"))
    while True:
        response = client.http.get(url, headers=ADMIN)
        if response.status_code == 400:
            return [], [expect(response, 400)]
        envelope = expect(response, 200)
        envelopes.append(envelope)
        found += [item["_id"] for item in envelope["result"]]
        cookie = envelope["pagedResultsCookie"]
        if cookie is None:
            return found, envelopes
        url = f"{WF}/{path}?{kept}&_pagedResultsCookie={cookie}"
        assert len(envelopes) < most, "the cookies never end"


def walk_of(term: str) -> str:
    """The same filter as a disjunction: answered by walking the listing (no index)."""
    return "_queryFilter=" + quote(f"({term}) or ({term})")
