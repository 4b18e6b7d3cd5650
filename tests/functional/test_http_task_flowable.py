"""Flowable's own HTTP task tests (``HttpServiceTaskTest.java``) on their BPMN files from the
shared corpus: the URLs (``http://localhost:9798``, ``https://localhost:9799``) point at the
local server (``tests/support/http_server.py``, the paths of ``HttpServiceTaskTestServer``);
each file asserts what the Java test asserts. The files that need a Java class, a script or
``requestSecureHeaders`` are refused at deploy, naming the element."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from chalicelib.service import unit_of_work as instances
from chalicelib.service.definitions import deploy as deployments
from chalicelib.service.definitions.errors import InvalidDeployment
from chalicelib.service.repositories.history import historic_variables
from tests.support.executions import drain, job_items, start
from tests.support.http_server import LocalServer, serve
from tests.support.http_tasks import http_settings

FOLDER = "flowable-integration/http"
JOHN = {"name": {"firstName": "John", "lastName": "Doe"}}


@pytest.fixture
def server():
    yield from serve()


@pytest.fixture
def settings(server):
    return http_settings(server)


def corpus_xml(corpus, method: str, server: LocalServer) -> str:
    text = (corpus / FOLDER / f"HttpServiceTaskTest.{method}.bpmn20.xml").read_text()
    return text.replace("http://localhost:9798", server.base).replace(
        "https://localhost:9799", server.base
    )


@dataclass
class Run:
    container: object
    server: LocalServer
    instance: str

    @property
    def state(self):
        return instances.load_instance(self.container, self.instance)

    @property
    def ended(self) -> bool:
        state = self.state
        return state is None or state.header.status.is_ended

    def at(self) -> list[str]:
        return sorted(e.activity_id for e in self.state.executions.values() if e.activity_id)

    def variables(self) -> dict:
        """The instance's variables (from history: the instance may have ended)."""
        items = historic_variables(self.container.store, self.instance).items
        return {i.data["name"]: i.data["value"] for i in items}

    def failure(self) -> str:
        [job] = job_items(self.container, self.instance)
        assert job.data["retries"] == 2
        return job.data["exceptionMessage"]


def run(container, corpus, server, method: str, variables=None) -> Run:
    definition = deployments.deploy(
        container,
        source=f"file:{method}",
        name=method,
        bpmn={f"{method}.bpmn20.xml": corpus_xml(corpus, method, server)},
    ).definition_ids[0]
    instance = start(container, definition, variables or {})
    drain(container)
    return Run(container, server, instance)


def _json(value) -> object:
    return json.loads(value)


# --- what each Java test asserts --------------------------------------------------------------


def simple_get_only(r: Run) -> None:
    assert r.ended


def get_with_variable_name(r: Run) -> None:
    found = r.variables()
    assert list(found) == ["test"] and _json(found["test"]) == JOHN
    assert r.ended


def get_without_variable_name(r: Run) -> None:
    found = r.variables()
    assert list(found) == ["httpGetResponseBody"] and _json(found["httpGetResponseBody"]) == JOHN
    assert r.ended


def get_2xx(r: Run) -> None:
    assert not r.ended and r.at() == ["wait"]
    found = r.variables()
    assert found["resultRequestMethod"] == "GET"
    assert found["resultRequestUrl"] == f"{r.server.base}/api?code=200"
    assert "Accept: application/json" in found["resultRequestHeaders"]
    assert found["resultRequestTimeout"] == 2000 and found["resultIgnoreException"] is True
    assert found["resultResponseStatusCode"] == 200
    assert "Content-Type: application/json" in found["resultResponseHeaders"]
    assert _json(found["resultResponseBody"])["code"] == 200


def get_3xx(r: Run) -> None:
    assert r.at() == ["wait"] and r.variables()["httpGetResponseStatusCode"] == 302


def get_4xx(r: Run) -> None:
    assert r.failure().startswith("HTTP404")


def get_5xx(r: Run) -> None:
    found = r.variables()
    assert found["get500RequestMethod"] == "GET"
    assert found["get500RequestUrl"] == f"{r.server.base}/api?code=500"
    assert "Accept: application/json" in found["get500RequestHeaders"]
    assert found["get500RequestTimeout"] == 5000
    assert found["get500HandleStatusCodes"] == "4XX, 5XX"
    assert found["get500SaveRequestVariables"] is True
    assert found["get500ResponseStatusCode"] == 500
    assert found["get500ResponseReason"] == "Server Error"
    assert r.at() == ["waitAfterError"]


def get_non_spec(r: Run) -> None:
    found = r.variables()
    assert found["get981RequestUrl"] == f"{r.server.base}/api?code=981"
    assert found["get981HandleStatusCodes"] == "981" and found["get981RequestTimeout"] == 5000
    assert found["get981ResponseStatusCode"] == 981 and found["get981ResponseReason"] == "981"
    assert r.at() == ["waitAfterError"]


def _posted(prefix: str, method: str, status: int) -> Callable[[Run], None]:
    body = '{"test":"sample","result":true}'

    def check(r: Run) -> None:
        found = r.variables()
        assert found[f"{prefix}RequestMethod"] == method
        assert found[f"{prefix}RequestUrl"] == f"{r.server.base}/api?code={status}"
        assert "Content-Type: application/json" in found[f"{prefix}RequestHeaders"]
        assert found[f"{prefix}RequestBody"] == body
        assert found[f"{prefix}ResponseStatusCode"] == status
        assert _json(found[f"{prefix}ResponseBody"])["body"] == body
        assert r.at() == ["wait"]

    return check


def post_3xx(r: Run) -> None:
    assert r.variables()["httpPostResponseStatusCode"] == 302 and r.at() == ["wait"]
    assert len(r.server.received) == 1  # a POST is not redirected (Apache's strategy)


def post_body_encoding(r: Run) -> None:
    found = r.variables()
    assert found["httpPostRequestMethod"] == "POST"
    assert found["httpPostRequestUrl"] == f"{r.server.base}/hello"
    assert "Content-Type: application/json; charset=utf-8" in found["httpPostRequestHeaders"]
    assert found["httpPostRequestBody"] == '{"name":"Alen Turković"}'
    assert found["httpPostResponseStatusCode"] == 200
    assert found["httpPostResponseBody"].strip() == '{"result":"Hello Alen Turković"}'
    assert r.at() == ["wait"]


def delete_4xx(r: Run) -> None:
    found = r.variables()
    assert found["httpDeleteResponseStatusCode"] == 400
    assert found["httpDeleteResponseReason"] == "Bad Request"
    assert r.at() == ["wait"]


PUT_5XX_VARIABLES = {
    "method": "POST",
    "url": "https://localhost:9799/api?code=500",
    "headers": "Content-Type: text/plain\nX-Request-ID: 623b94fc-14b8-4ee6-aed7-b16b9321e29f"
    "\nhost:localhost:7000\nTest:",
    "body": "test",
    "timeout": 2000,
    "ignore": True,
    "fail": "400, 404",
    "save": True,
    "response": True,
    "prefix": "httpPost500",
}


def put_5xx(r: Run) -> None:
    [received] = r.server.received
    headers = {name.lower(): value for name, value in received.headers.items()}
    assert headers["content-type"] == "text/plain"
    assert headers["x-request-id"] == "623b94fc-14b8-4ee6-aed7-b16b9321e29f"
    assert headers["host"] == "localhost:7000"  # the task's own Host header, sent once
    found = r.variables()
    assert found["httpPost500RequestMethod"] == "POST"
    assert found["httpPost500RequestUrl"] == f"{r.server.base}/api?code=500"
    assert found["httpPost500RequestHeaders"].startswith(
        "Content-Type: text/plain\nX-Request-ID: 623b94fc-14b8-4ee6-aed7-b16b9321e29f"
        "\nhost:localhost:7000"
    )
    assert found["httpPost500RequestBody"] == "test"
    assert found["httpPost500ResponseStatusCode"] == 500
    assert r.at() == ["wait"]


def fails_with(code: str) -> Callable[[Run], None]:
    def check(r: Run) -> None:
        assert r.failure().startswith(code)

    return check


def times_out(after: str) -> Callable[[Run], None]:
    def check(r: Run) -> None:
        assert f"timed out after {after}" in r.failure()

    return check


def ended(r: Run) -> None:
    assert r.ended


def array_node(r: Run) -> None:
    assert sorted(t.name for t in r.state.tasks.values()) == ["abc", "def", "ghi"]


def delete_empty_body(r: Run) -> None:
    found = r.variables()
    assert "myResponse" in found and found["myResponse"] is None


def skip_expression(r: Run) -> None:
    found = r.variables()
    assert _json(found["result"]) == JOHN and _json(found["result2"]) == JOHN


@dataclass
class Case:
    method: str
    check: Callable[[Run], None]
    variables: dict = field(default_factory=dict)


CASES = [
    Case("testSimpleGetOnly", simple_get_only),
    Case("testGetWithVariableName", get_with_variable_name),
    Case("testGetWithoutVariableName", get_without_variable_name),
    Case(
        "testGetWithVariableNameAndSkipExpression",
        skip_expression,
        {"_FLOWABLE_SKIP_EXPRESSION_ENABLED": True, "skip": False},
    ),
    Case("testHttpGet2XX", get_2xx),
    Case("testHttpGet3XX", get_3xx),
    Case("testHttpGet4XX", get_4xx),
    Case("testHttpGet5XX", get_5xx),
    Case("testHttpGetNonSpecStatusCode", get_non_spec),
    Case("testHttpPost2XX", _posted("httpPost", "POST", 201)),
    Case("testHttpPatch2XX", _posted("httpPatch", "PATCH", 201)),
    Case("testHttpPost3XX", post_3xx),
    Case("testHttpPostBodyEncoding", post_body_encoding),
    Case("testHttpDelete4XX", delete_4xx),
    Case("testHttpPut5XX", put_5xx, PUT_5XX_VARIABLES),
    Case("testFailStatusCodes", fails_with("HTTP400")),
    Case("testDisallowRedirects", fails_with("HTTP302")),
    Case("testIgnoreException", ended),
    Case("testConnectTimeout", times_out("4 s")),  # no requestTimeout: WORKFLOW_HTTP_TIMEOUT
    Case("testRequestTimeout", times_out("3 s")),
    Case("testRequestTimeout2", times_out("2 s")),
    Case("testRequestTimeout3", ended),  # 5000 ms, capped to 4 s, the server answers in 2
    Case("testArrayNodeResponse", array_node),
    Case("testDeleteResponseEmptyBody", delete_empty_body),
]


@pytest.mark.parametrize("case", CASES, ids=[c.method for c in CASES])
def test_flowable_http_task(container, corpus, server, case: Case):
    variables = dict(case.variables)
    if "url" in variables:
        variables["url"] = variables["url"].replace("https://localhost:9799", server.base)
    case.check(run(container, corpus, server, case.method, variables))


def test_skip_expression_skips_the_call(container, corpus, server):
    variables = {"_FLOWABLE_SKIP_EXPRESSION_ENABLED": True, "skip": True}
    r = run(container, corpus, server, "testGetWithVariableNameAndSkipExpression", variables)
    found = r.variables()
    assert "result" not in found and _json(found["result2"]) == JOHN
    assert len(server.received) == 1


@pytest.mark.parametrize(
    "sent, received",
    [
        ("Test+ Plus", "Test+ Plus"),
        ("Test%2B Plus Encoded", "Test+ Plus Encoded"),
        ("Test Space", "Test Space"),
        ("Test%25Percent Encoded", "Test%Percent Encoded"),
        ("Test%26Ampersand Encoded", "Test&Ampersand Encoded"),
        ("Test?QMark", "Test?QMark"),
        ("Test/Slash", "Test/Slash"),
    ],
)
def test_get_with_variable_parameters(container, corpus, server, sent, received):
    r = run(container, corpus, server, "testGetWithVariableParameters", {"requestParam": sent})
    assert _json(r.variables()["test"])["args"]["requestParam"] == [received]
    assert r.ended


def test_handle_status_codes(container, corpus, server):
    """The file's sequence flow carries a Java execution listener (refused, see below): the
    HTTP part runs with it removed."""
    xml = corpus_xml(corpus, "testHandleStatusCodes", server)
    start_tag = xml.index("<extensionElements>", xml.index('sourceRef="catch400"'))
    end_tag = xml.index("</extensionElements>", start_tag) + len("</extensionElements>")
    definition = deployments.deploy(
        container,
        source="file:handle",
        name="handle",
        bpmn={"handle.bpmn20.xml": xml[:start_tag] + xml[end_tag:]},
    ).definition_ids[0]
    instance = start(container, definition, {})
    drain(container)
    state = instances.load_instance(container, instance)
    assert state is None or state.header.status.is_ended
    assert job_items(container, instance) == []


#: the files this engine refuses, the element the problem names, and a word of its message
REFUSED = {
    "testGetWithBpmnThrowingRequestHandler": ("httpGet", "httpRequestHandler"),
    "testGetWithBpmnThrowingResponseHandler": ("httpGet", "httpResponseHandler"),
    "testGetWithParametrizedResponseHandler": ("httpGet", "httpResponseHandler"),
    "testGetWithRequestHandler": ("httpGet", "httpRequestHandler"),
    "testGetWithResponseHandler": ("httpGet", "httpResponseHandler"),
    "testGetWithScriptRequestHandler": ("httpGet", "httpRequestHandler"),
    "testGetWithScriptRequestHandlerGroovy": ("httpGet", "httpRequestHandler"),
    "testGetWithScriptRequestHandlerThrowsException": (None, "httpRequestHandler"),
    "testGetWithScriptRequestHandlerThrowsFlowableException": (None, "httpRequestHandler"),
    "testGetWithScriptResponseHandler": ("httpGet", "httpResponseHandler"),
    "testGetWithScriptResponseHandlerThrowsException": (None, "httpResponseHandler"),
    "testMapException": (None, "mapException"),
    "testHttpSecureHeaders": (None, "requestSecureHeaders"),
    "testHandleStatusCodes": (None, "Java classes are not supported"),
}


@pytest.mark.parametrize("method", sorted(REFUSED))
def test_files_needing_java_or_scripts_are_refused_at_deploy(container, corpus, server, method):
    activity, word = REFUSED[method]
    with pytest.raises(InvalidDeployment) as exc:
        run(container, corpus, server, method)
    problems = [p for p in exc.value.detail["errors"] if word in p["defaultDescription"]]
    assert problems, exc.value.detail
    assert all(p["activityId"] for p in problems)
    if activity:
        assert problems[0]["activityId"] == activity


#: the files not run, and why
NOT_RUN = {
    "testHttpsSelfSigned": "Flowable's test turns certificate checks off for a self-signed "
    "certificate; this client always checks them (a self-signed certificate fails the job: "
    "tests/functional/test_http_task_tls.py)",
    "testTransientJsonResponseVariable": "saveResponseParametersTransient: this engine has no "
    "transient variables (the response is not stored, see service/actions/http_task.py)",
}


def test_https_self_signed_file_runs_here_over_plain_http(container, corpus, server):
    """testHttpsSelfSigned, with its https URL served over plain HTTP (the certificate check
    itself: test_http_task_tls.py, where a self-signed certificate fails the job)."""
    r = run(container, corpus, server, "testHttpsSelfSigned")
    assert [(q.method, q.path) for q in server.received] == [("GET", "/api?code=200")]
    assert job_items(container, r.instance) == []  # nothing failed, nothing left to run


def test_a_transient_response_is_not_kept_for_the_next_task(container, corpus, server):
    """testTransientJsonResponseVariable: the GET's response is saved transient, which this
    engine does not keep; the next task's body reads it, so the first job fails naming it
    (retried, then dead-lettered) instead of sending a request built from nothing."""
    r = run(container, corpus, server, "testTransientJsonResponseVariable")
    assert "myResponse" in r.failure()
    assert [q.path for q in server.received] == ["/test"]


def test_every_corpus_file_is_run_refused_or_explained(corpus):
    names = {p.name.split(".")[1] for p in (corpus / FOLDER).glob("*.bpmn20.xml")}
    covered = {c.method for c in CASES} | set(REFUSED) | set(NOT_RUN)
    covered |= {"testGetWithVariableParameters"}
    assert names == covered
