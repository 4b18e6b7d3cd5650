"""Issue 12, item 1, over HTTP against the real launcher: a script task whose regular expression
backtracks catastrophically ends at the script time limit (a 400 ``script-timeout``, nothing
stored) while other requests are served meanwhile. The launcher runs with a limit of 0.5 s, not
the default 1 s: QuickJS counts the process's CPU time, so on a machine loaded past its cores
the wall time of a 1 s limit stretches (1.03-1.06 s at a load of 3 on 2 cores, up to 2.15 s at
a load of 6, measured); half the default keeps the 2 s bound honest on a loaded CI machine.
The retry after busy sibling threads shares the same deadline (``tests/unit/engine/scripting``
checks that deterministically)."""

from __future__ import annotations

import threading
import time

import pytest

from tests.support.launcher import WF, call, get_json, post_json, running_launcher
from tests.support.rest import ADMIN

JSON = dict(ADMIN, **{"Content-Type": "application/json"})
LIMIT_S = 0.5

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="hostile">
  <process id="regexBomb" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="bomb"/>
    <scriptTask id="bomb" scriptFormat="javascript"><script><![CDATA[
      execution.setVariable("matched", /^(a+)+$/.test("a".repeat(40) + "b"));
    ]]></script></scriptTask>
    <sequenceFlow id="f2" sourceRef="bomb" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


@pytest.fixture(scope="module")
def service():
    """The workflow routes of a launcher (nothing deployed at start) with a 0.5 s script time
    limit, and ``regexBomb`` deployed through a model."""
    with running_launcher(
        deploy_workflows=False, WORKFLOW_SCRIPT_TIME_LIMIT_SECONDS=str(LIMIT_S)
    ) as running:
        base = running.url + WF
        status, _, model = post_json(f"{base}/model", {"name": "bomb", "bpmnXML": BPMN}, JSON)
        assert status == 201, model
        status, _, deployed = post_json(f"{base}/model/{model['_id']}?_action=deploy", {}, JSON)
        assert status == 200, deployed
        yield base


def test_catastrophic_regex_is_a_timeout_and_other_requests_are_served(service):
    answer: dict = {}

    def start() -> None:
        began = time.monotonic()
        answer["status"], _, answer["body"] = post_json(
            f"{service}/processinstance?_action=create", {"_key": "regexBomb"}, JSON
        )
        answer["seconds"] = time.monotonic() - began

    bad = threading.Thread(target=start)
    bad.start()
    time.sleep(0.1)  # the start request is in its script now
    began = time.monotonic()
    status, _, listing = call(
        f"{service}/processdefinition?_queryFilter=key%20eq%20%22regexBomb%22", headers=ADMIN
    )
    other_seconds = time.monotonic() - began
    bad.join(timeout=30)

    assert status == 200 and listing["resultCount"] == 1
    assert other_seconds < 1.0, f"a GET took {other_seconds:.2f} s beside the script"
    assert answer["status"] == 400, answer
    assert answer["body"]["detail"] == {"type": "script-timeout", "activityId": "bomb"}
    assert f"time limit of {LIMIT_S:g} s" in answer["body"]["message"]
    assert answer["seconds"] < 2.0, f"the start took {answer['seconds']:.2f} s"

    # nothing stored: no instance, running or in history
    query = "_queryId=filtered-query&processDefinitionKey=regexBomb"
    assert get_json(f"{service}/processinstance?{query}")["resultCount"] == 0
    assert get_json(f"{service}/processinstance/history?{query}")["resultCount"] == 0
