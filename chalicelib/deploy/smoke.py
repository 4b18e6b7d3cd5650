"""``make smoke URL=...`` (``python -m chalicelib.deploy smoke URL``): a short check of a live API.

Standard library only (``urllib``), so it runs anywhere Python does, against a deployed stage
or ``make run``. In order, each step printed as it passes:

1. authentication: no credentials is 401, the caller's credentials read the definitions (200),
   and ``?_api`` answers the OpenAPI description;
2. a small process (``workflowSmoke``: a user task, then a 2-second timer) is deployed through
   the ``model`` routes (a repeat deploy reuses the definition) and started;
3. its task is completed, then the timer fires and ends the instance (polled in its history
   until ``--timeout``): the queue, the worker and the timer path work end to end;
4. clean-up: the model and the instance's history are deleted.

Credentials: ``--token`` (``SMOKE_TOKEN``, a Cognito ID token sent as ``Authorization``) or
``--user``/``--password`` (``SMOKE_USER``/``SMOKE_PASSWORD``, default ``openidm-admin``, the
local administrator). The caller needs the administrator role (model routes). Exit status 0
when every step passed, 1 on the first failure (its message says which), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

__all__ = ["SmokeFailure", "run", "main", "SMOKE_KEY", "SMOKE_BPMN"]

SMOKE_KEY = "workflowSmoke"
SMOKE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Smoke">
  <process id="workflowSmoke" name="Post-deploy smoke check" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <userTask id="check" name="Smoke check" flowable:candidateGroups="smoke"/>
    <sequenceFlow id="f2" sourceRef="check" targetRef="wait"/>
    <intermediateCatchEvent id="wait" name="Two seconds">
      <timerEventDefinition><timeDuration>PT2S</timeDuration></timerEventDefinition>
    </intermediateCatchEvent>
    <sequenceFlow id="f3" sourceRef="wait" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


class SmokeFailure(Exception):
    """A step failed; the message says which and what came back."""


Call = Callable[..., tuple[int, Any]]


def _caller(base: str, auth: Mapping[str, str]) -> Call:
    root = base.rstrip("/") + "/openidm/workflow"

    def call(
        method: str, path: str, body: Any = None, *, authenticated: bool = True
    ) -> tuple[int, Any]:
        headers = {"Accept-API-Version": "resource=1.0", "X-Request-Id": f"smoke-{time.time()}"}
        if authenticated:
            headers.update(auth)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(root + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            raise SmokeFailure(f"{method} {root + path}: cannot connect ({error})") from None
        try:
            return status, json.loads(raw or b"{}")
        except ValueError:
            return status, raw.decode(errors="replace")

    return call


def _expect(result: tuple[int, Any], status: int, what: str) -> Any:
    got, body = result
    if got != status:
        raise SmokeFailure(f"{what}: expected {status}, got {got}: {str(body)[:300]}")
    return body


def run(
    base_url: str,
    auth: Mapping[str, str],
    *,
    timeout: float = 120.0,
    say: Callable[[str], None] = print,
) -> str:
    """Run every step against ``base_url``; the smoke instance's id. Raises ``SmokeFailure``."""
    call = _caller(base_url, auth)
    _expect(
        call("GET", "/processdefinition?_queryFilter=true", authenticated=False),
        401,
        "a request without credentials",
    )
    _expect(
        call("GET", "/processdefinition?_queryId=query-all-ids"),
        200,
        "the caller reading the definitions (check the credentials)",
    )
    described = _expect(call("GET", "?_api"), 200, "the OpenAPI description (?_api)")
    if not str(described.get("openapi", "")).startswith("3."):
        raise SmokeFailure(f"?_api did not answer an OpenAPI 3 document: {str(described)[:200]}")
    say("ok  authentication: 401 without credentials, 200 with them, ?_api served")

    model = _expect(
        call("POST", "/model?_action=create", {"name": SMOKE_KEY, "bpmnXML": SMOKE_BPMN}),
        201,
        "creating the model",
    )
    model_id = quote(model["_id"], safe="")
    try:
        deployed = _expect(
            call("POST", f"/model/{model_id}?_action=deploy", {}),
            200,
            "deploying the smoke process",
        )
    finally:
        call("DELETE", f"/model/{model_id}")
    [definition] = [d for d in deployed["processDefinitionIds"] if d.startswith(SMOKE_KEY + ":")]
    say(f"ok  deployed {definition}")

    started = _expect(
        call("POST", "/processinstance?_action=create", {"_key": SMOKE_KEY}),
        201,
        "starting an instance",
    )
    instance = started["_id"]
    quoted = quote(instance, safe="")
    tasks = _expect(
        call("GET", f"/taskinstance?_queryId=filtered-query&processInstanceId={quoted}"),
        200,
        "listing the instance's task",
    )
    if len(tasks.get("result", [])) != 1:
        raise SmokeFailure(f"expected one open task of {instance}, got {tasks}")
    task = quote(tasks["result"][0]["_id"], safe="")
    _expect(
        call("POST", f"/taskinstance/{task}?_action=complete", {"smoke": True}),
        200,
        "completing the task",
    )
    say(f"ok  started {instance}, completed its task")

    deadline = time.monotonic() + timeout
    while True:
        status, history = call("GET", f"/processinstance/history/{quoted}")
        if status == 200 and history.get("endTime"):
            break
        if time.monotonic() > deadline:
            raise SmokeFailure(
                f"the instance {instance} did not end within {timeout:.0f} s: its timer did not "
                f"fire (jobs queue, worker or sweep); last answer {status}: {str(history)[:300]}"
            )
        time.sleep(1.0)
    say(f"ok  the timer fired and the instance ended at {history['endTime']}")
    call("DELETE", f"/processinstance/history/{quoted}")
    say("ok  smoke check passed")
    return instance


def credentials(token: str | None, user: str | None, password: str | None) -> dict[str, str]:
    """The request headers of the caller: a bearer token, else username and password."""
    if token:
        return {"Authorization": token}
    return {
        "X-OpenIDM-Username": user or "openidm-admin",
        "X-OpenIDM-Password": password or "openidm-admin",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.deploy smoke")
    parser.add_argument("url", help="the API's base URL (the stack's EndpointURL, or make run's)")
    parser.add_argument("--token", default=os.environ.get("SMOKE_TOKEN"))
    parser.add_argument("--user", default=os.environ.get("SMOKE_USER"))
    parser.add_argument("--password", default=os.environ.get("SMOKE_PASSWORD"))
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for the timer")
    args = parser.parse_args(argv)
    try:
        run(args.url, credentials(args.token, args.user, args.password), timeout=args.timeout)
    except SmokeFailure as failure:
        print(f"FAIL {failure}", file=sys.stderr)
        return 1
    return 0
