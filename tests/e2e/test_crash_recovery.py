"""A launcher killed in the middle of a 500-wide fan-out commit; a fresh one finishes it.

The first launcher (``tests.support.crashing_launcher``, over a moto server that outlives it)
starts a 500-way parallel multi-instance: the decide transaction commits the intent and its
``apply-intent`` job, the apply commits one batch, and the process dies (``os._exit``) before
the second. A second, ordinary launcher against the same moto server must, on its own (no
request touches the instance), finish the commit within one sweep period + 10 s: by then
every listing shows the whole fan-out (all 500 tasks, ``EXACT`` counts right) and the intent
and its job are gone.

Under ``tests/e2e`` with the other launcher subprocess tests: two launchers and a moto server,
about 15 s on 2 shared cores (the recovery itself a few seconds after the restart).
"""

from __future__ import annotations

import json
import time
import urllib.error

import pytest

from chalicelib.storage import intent
from tests.support.crashing_launcher import CRASH_EXIT
from tests.support.launcher import (
    WF,
    call,
    free_port,
    get_json,
    launched_process,
    moto_server,
    wait_until,
)
from tests.support.rest import ADMIN

WIDTH = 500
#: the launcher's schedule tick (the sweep period); the issue's bound is one period + 10 s
TICK_SECONDS = 1.0
JSON_ADMIN = dict(ADMIN, **{"Content-Type": "application/json"})

FAN_OUT = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <process id="crashFanOut" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <userTask id="review" name="Review" flowable:assignee="reviewer${loopCounter}">
      <multiInstanceLoopCharacteristics isSequential="false">
        <loopCardinality>${width}</loopCardinality>
      </multiInstanceLoopCharacteristics>
    </userTask>
    <sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""


def _post(base: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    status, _, answer = call(f"{base}{WF}/{path}", "POST", JSON_ADMIN, data)
    return status, answer


def _pending(endpoint: str) -> list[str]:
    """The commit intents and jobs stored in the local stage's runtime table (a Scan)."""
    import botocore.session

    dynamodb = botocore.session.get_session().create_client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    found = []
    for page in dynamodb.get_paginator("scan").paginate(TableName="workflow-local-runtime"):
        for item in page["Items"]:
            sk = item["sk"]["S"]
            if sk == intent.INTENT_SK:
                found.append(sk)
            elif sk.startswith("job#"):
                found.append("job")
    return found


def _tasks(base: str) -> dict:
    return get_json(
        f"{base}{WF}/taskinstance?_queryFilter=true&_totalPagedResultsPolicy=EXACT&_pageSize=1000"
    )


def _instances(base: str) -> dict:
    return get_json(f"{base}{WF}/processinstance?_queryFilter=true&_totalPagedResultsPolicy=EXACT")


@pytest.mark.timeout(180)
def test_importing_the_crashing_launcher_changes_nothing_here():
    """Only the launcher process it runs as crashes: a test process that imports it for
    ``CRASH_EXIT`` keeps the real ``intent.apply`` (other tests in this worker apply intents)."""
    from tests.support import crashing_launcher

    assert intent.apply is crashing_launcher._apply


def test_a_fan_out_commit_killed_half_way_is_finished_by_a_restarted_launcher(tmp_path):
    with moto_server() as endpoint:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        settings = {
            "PORT": str(port),
            "AWS_ENDPOINT_URL": endpoint,
            "WORKFLOW_LOCAL_TICK_SECONDS": f"{TICK_SECONDS:g}",
            "LOG_LEVEL": "WARNING",
        }
        with launched_process(
            tmp_path / "first.log", module="tests.support.crashing_launcher", **settings
        ) as first:
            status, model = _post(base, "model", {"name": "crashFanOut", "bpmnXML": FAN_OUT})
            assert status == 201, model
            status, deployed = _post(base, f"model/{model['_id']}?_action=deploy")
            assert status == 200, deployed
            with pytest.raises((urllib.error.URLError, ConnectionError, json.JSONDecodeError)):
                _post(base, "processinstance", {"_key": "crashFanOut", "width": WIDTH})
            assert first.wait(timeout=30) == CRASH_EXIT, (tmp_path / "first.log").read_text()
        # the crash left the commit half-done: its intent and its apply-intent job are stored
        assert sorted(_pending(endpoint)) == [intent.INTENT_SK, "job"]

        with launched_process(tmp_path / "second.log", **settings):
            ready = time.monotonic()

            def complete() -> bool:
                tasks, instances = _tasks(base), _instances(base)
                return (
                    tasks["totalPagedResults"] == WIDTH
                    and len(tasks["result"]) == WIDTH
                    and instances["totalPagedResults"] == 1
                )

            finished = wait_until(complete, timeout=TICK_SECONDS + 10, interval=0.5)
            took = time.monotonic() - ready
            log = (tmp_path / "second.log").read_text()
            assert finished, (took, _tasks(base)["totalPagedResults"], log[-3000:])

            tasks = _tasks(base)["result"]
            (instance,) = _instances(base)["result"]
            assert {t["processInstanceId"] for t in tasks} == {instance["_id"]}
            assert {t["assignee"] for t in tasks} == {f"reviewer{n}" for n in range(WIDTH)}
            read = get_json(f"{base}{WF}/processinstance/{instance['_id']}")
            assert len(read["tasks"]) == WIDTH
            # the intent is gone with its job: nothing left for a worker or the sweep
            assert wait_until(
                lambda: get_json(f"{base}{WF}/job?_queryFilter=true")["result"] == [], timeout=5
            )
            assert _pending(endpoint) == []
