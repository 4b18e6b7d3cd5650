"""HTTP, mail and external worker tasks in the engine: each parks its execution on one action
job carrying its evaluated fields; ``FinishAction`` applies the job's outcome exactly once."""

from __future__ import annotations

import pytest

from chalicelib.engine.runtime import UnknownTarget
from chalicelib.engine.runtime.commands import FinishAction
from chalicelib.engine.runtime.effects import JobCancelled, JobKind
from chalicelib.errors import ProcessFailure
from tests.support.engine import bpmn, seq, task_names, variables


def field(name: str, value: str, *, expression: bool = False) -> str:
    kind = "expression" if expression else "string"
    return (
        f'<flowable:field name="{name}"><flowable:{kind}>{value}</flowable:{kind}></flowable:field>'
    )


HTTP = bpmn(
    '<startEvent id="start"/>'
    + seq("start", "call")
    + '<serviceTask id="call" flowable:type="http"><extensionElements>'
    + field("requestMethod", "POST")
    + field("requestUrl", "https://crm.example/users/${userId}", expression=True)
    + field("requestBody", '{"name": "${name}"}', expression=True)
    + "</extensionElements></serviceTask>"
    + seq("call", "after")
    + '<userTask id="after" name="After"/>'
    + seq("after", "end")
    + '<endEvent id="end"/>'
    + '<boundaryEvent id="onError" attachedToRef="call"><errorEventDefinition errorRef="HTTP404"/>'
    "</boundaryEvent>" + seq("onError", "handled") + '<userTask id="handled" name="Handled"/>'
)


def only_action_job(world, iid):
    [job] = world.jobs_of(iid, JobKind.ACTION.value)
    return job


def finish(world, job, variables=None, error_code=None):
    return world.run(
        FinishAction(
            job.job_id, job.instance_id, job.execution_id, dict(variables or {}), error_code
        )
    )


def test_http_task_parks_on_a_job_with_its_evaluated_fields(world):
    world.deploy(HTTP)
    iid = world.start("p", {"userId": "u7", "name": "Ann"})
    job = only_action_job(world, iid)
    assert job.activity_id == "call"
    assert job.payload["handler"] == "http-task"
    assert job.payload["fields"] == {
        "requestMethod": "POST",
        "requestUrl": "https://crm.example/users/u7",
        "requestBody": '{"name": "Ann"}',
    }
    assert task_names(world, iid) == []  # waiting for the job


def test_finish_sets_variables_and_leaves_once(world):
    world.deploy(HTTP)
    iid = world.start("p", {"userId": "u7", "name": "Ann"})
    job = only_action_job(world, iid)
    finish(world, job, {"callResponseStatusCode": 201})
    assert task_names(world, iid) == ["After"]
    assert variables(world, iid)["callResponseStatusCode"] == 201
    with pytest.raises(UnknownTarget):  # a duplicate outcome has no effect
        finish(world, job, {"callResponseStatusCode": 500})
    assert variables(world, iid)["callResponseStatusCode"] == 201
    assert task_names(world, iid) == ["After"]


def test_finish_with_an_error_code_is_caught_by_the_boundary_event(world):
    world.deploy(HTTP)
    iid = world.start("p", {"userId": "u7", "name": "Ann"})
    finish(world, only_action_job(world, iid), {"status": 404}, error_code="HTTP404")
    assert task_names(world, iid) == ["Handled"]
    assert variables(world, iid)["status"] == 404


def test_an_uncaught_error_code_fails_and_changes_nothing(world):
    world.deploy(HTTP)
    iid = world.start("p", {"userId": "u7", "name": "Ann"})
    job = only_action_job(world, iid)
    with pytest.raises(ProcessFailure, match="HTTP500"):
        finish(world, job, error_code="HTTP500")
    assert only_action_job(world, iid).job_id == job.job_id  # still waiting for its job


def test_a_cancelled_task_cancels_its_job(world):
    world.deploy(
        bpmn(
            '<startEvent id="start"/>'
            + seq("start", "call")
            + '<serviceTask id="call" flowable:type="http"><extensionElements>'
            + field("requestMethod", "GET")
            + field("requestUrl", "https://crm.example/")
            + "</extensionElements></serviceTask>"
            + seq("call", "end")
            + '<endEvent id="end"/>'
            + '<boundaryEvent id="late" attachedToRef="call"><timerEventDefinition>'
            "<timeDuration>PT5M</timeDuration></timerEventDefinition></boundaryEvent>"
            + seq("late", "gaveUp")
            + '<userTask id="gaveUp" name="Gave up"/>'
        )
    )
    iid = world.start("p")
    job = only_action_job(world, iid)
    [timer] = world.jobs_of(iid, JobKind.TIMER.value)
    result = world.run_job(timer.job_id)
    assert any(isinstance(e, JobCancelled) and e.job_id == job.job_id for e in result.effects)
    assert task_names(world, iid) == ["Gave up"]
    with pytest.raises(UnknownTarget):  # the HTTP call that finishes late changes nothing
        finish(world, job, {"late": True})
    assert "late" not in variables(world, iid)


def test_skip_expression_leaves_without_a_job(world):
    world.deploy(
        bpmn(
            '<startEvent id="start"/>'
            + seq("start", "mail")
            + '<serviceTask id="mail" flowable:type="mail" flowable:skipExpression="${skip}">'
            "<extensionElements>"
            + field("to", "kermit@example.com")
            + field("text", "Hello")
            + "</extensionElements></serviceTask>"
            + seq("mail", "after")
            + '<userTask id="after" name="After"/>'
        )
    )
    iid = world.start("p", {"skip": True, "_FLOWABLE_SKIP_EXPRESSION_ENABLED": True})
    assert world.jobs_of(iid, JobKind.ACTION.value) == []
    assert task_names(world, iid) == ["After"]
    other = world.start("p", {"skip": False, "_FLOWABLE_SKIP_EXPRESSION_ENABLED": True})
    assert only_action_job(world, other).payload["handler"] == "mail-task"


def test_mail_send_task_parks_like_the_mail_service_task(world):
    world.deploy(
        bpmn(
            '<startEvent id="start"/>'
            + seq("start", "mail")
            + '<sendTask id="mail" flowable:type="mail"><extensionElements>'
            + field("to", "${who}", expression=True)
            + field("text", "Hello")
            + "</extensionElements></sendTask>"
            + seq("mail", "end")
            + '<endEvent id="end"/>'
        )
    )
    iid = world.start("p", {"who": "kermit@example.com"})
    job = only_action_job(world, iid)
    assert job.payload["fields"] == {"to": "kermit@example.com", "text": "Hello"}
    finish(world, job)
    assert world.is_ended(iid)


WORKER = bpmn(
    '<startEvent id="start"/>'
    + seq("start", "work")
    + '<serviceTask id="work" flowable:type="external-worker" flowable:topic="${topic}">'
    "<extensionElements>"
    '<flowable:externalWorkerInParameter source="name" target="theName"/>'
    '<flowable:externalWorkerInParameter sourceExpression="${a + b}" target="theSum"/>'
    '<flowable:externalWorkerOutParameter source="theResult" target="result"/>'
    '<flowable:externalWorkerOutParameter sourceExpression="${x * y}" target="product"/>'
    "</extensionElements></serviceTask>"
    + seq("work", "after")
    + '<userTask id="after" name="After"/>'
)


def test_external_worker_job_carries_topic_and_in_parameters(world):
    world.deploy(WORKER)
    iid = world.start("p", {"topic": "crm", "name": "Ann", "a": 2, "b": 3, "secret": "s"})
    job = only_action_job(world, iid)
    assert job.payload["handler"] == "external-worker"
    assert job.payload["topic"] == "crm"
    assert job.payload["variables"] == {"theName": "Ann", "theSum": 5}


def test_external_worker_outcome_goes_through_the_out_parameters(world):
    world.deploy(WORKER)
    iid = world.start("p", {"topic": "crm", "name": "Ann", "a": 2, "b": 3})
    finish(world, only_action_job(world, iid), {"theResult": "ok", "x": 4, "y": 5, "junk": 1})
    values = variables(world, iid)
    assert values["result"] == "ok" and values["product"] == 20
    assert "junk" not in values and "theResult" not in values
    assert task_names(world, iid) == ["After"]


def test_external_worker_completed_by_trigger_cancels_its_job(world):
    world.deploy(WORKER)
    iid = world.start("p", {"topic": "crm", "name": "Ann", "a": 2, "b": 3})
    job = only_action_job(world, iid)
    result = world.trigger(iid, job.execution_id, {"theResult": "done", "x": 1, "y": 1})
    assert any(isinstance(e, JobCancelled) and e.job_id == job.job_id for e in result.effects)
    assert world.jobs_of(iid, JobKind.ACTION.value) == []
    assert variables(world, iid)["result"] == "done"
    with pytest.raises(UnknownTarget):  # the job's own outcome, arriving after, is stale
        finish(world, job, {"theResult": "again"})
    assert variables(world, iid)["result"] == "done"


def test_external_worker_without_variables(world):
    world.deploy(
        bpmn(
            '<startEvent id="start"/>'
            + seq("start", "work")
            + '<serviceTask id="work" flowable:type="external-worker" flowable:topic="t" '
            'flowable:doNotIncludeVariables="true"/>' + seq("work", "end") + '<endEvent id="end"/>'
        )
    )
    iid = world.start("p", {"name": "Ann"})
    assert only_action_job(world, iid).payload["variables"] == {}
    plain = WORKER.replace("<extensionElements>", "<extensionElements><!--", 1).replace(
        "</extensionElements></serviceTask>", "--></extensionElements></serviceTask>", 1
    )
    world.deploy(plain)
    other = world.start("p", {"topic": "t", "name": "Bo"})
    assert only_action_job(world, other).payload["variables"] == {"topic": "t", "name": "Bo"}


def test_mail_text_var_and_html_var_are_templates_evaluated_when_the_task_is_entered(world):
    """Flowable's ``textVar``/``htmlVar`` name a variable whose value is a template; it is
    evaluated at the task and wins over ``text``/``html`` (the runner sends the final body)."""
    world.deploy(
        bpmn(
            '<startEvent id="start"/>'
            + seq("start", "mail")
            + '<serviceTask id="mail" flowable:type="mail"><extensionElements>'
            + field("to", "kermit@example.com")
            + field("text", "ignored")
            + field("textVar", "plain")
            + field("htmlVar", "html", expression=True)
            + "</extensionElements></serviceTask>"
            + seq("mail", "end")
            + '<endEvent id="end"/>'
        )
    )
    iid = world.start(
        "p",
        {
            "gender": "male",
            "plain": "Hello ${gender == 'male' ? 'Mr' : 'Ms'}. Kermit",
            "html": "<b>${gender}</b>",
        },
    )
    fields = only_action_job(world, iid).payload["fields"]
    assert fields["text"] == "Hello Mr. Kermit"
    assert fields["html"] == "<b>male</b>"
    assert fields["textVar"] == "plain" and fields["htmlVar"] == "html"


def test_mail_text_var_naming_no_variable_gives_no_body(world):
    world.deploy(
        bpmn(
            '<startEvent id="start"/>'
            + seq("start", "mail")
            + '<serviceTask id="mail" flowable:type="mail"><extensionElements>'
            + field("to", "kermit@example.com")
            + field("textVar", "absent")
            + "</extensionElements></serviceTask>"
            + seq("mail", "end")
            + '<endEvent id="end"/>'
        )
    )
    iid = world.start("p", {})
    assert only_action_job(world, iid).payload["fields"]["text"] is None
