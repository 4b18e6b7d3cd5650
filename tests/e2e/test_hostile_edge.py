"""Hostile input at the edge, over HTTP against the real launcher (issue 12, items 2, 7, 8, 9).

Each case asserts its status and CREST envelope, an answer within ``BOUND`` seconds, that other
requests are served meanwhile where the case could stall the server, and that nothing was
stored where the case could write:

* ``*Like`` parameters, the executions' ``like`` operators and ``_queryFilter`` ``co``/``sw``
  with patterns that made the old regex translation backtrack exponentially;
* an ISO-8859-1 BPMN document to ``validate_bpmn`` (a report, not a 400), DOCTYPE still refused;
* undecodable Basic credentials, a 1 MB header, user names compared exactly;
* paths outside ``/openidm/workflow`` (a CREST 404 that echoes nothing, logged).
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

from tests.support.launcher import WF, running_launcher
from tests.support.rest import ADMIN

#: seconds any hostile request may take
BOUND = 2.0
#: enough ``%`` for the old regex translation to run for years on a 20-character value
PERCENTS = "%" * 40
ADVERSARIAL = quote(PERCENTS + "x!")
START = {
    "_key": "contractorOnboarding",
    "_businessKey": "contractor-hostile-edge",
    "userName": "jdoe",
    "givenName": "Jane",
    "sn": "Doe",
    "mail": "jdoe@example.com",
    "startDate": "2026-12-01T09:00:00.000Z",
}


@pytest.fixture(scope="module")
def service():
    """A launcher with ``workflow/`` deployed and one contractor onboarding instance running
    (so definitions, tasks, executions and variables exist for the patterns to scan)."""
    with running_launcher(deploy_workflows=True, WORKFLOW_LOCAL_TICK_SECONDS="0.5") as running:
        status, _, data = request(
            running.port,
            "POST",
            f"{WF}/processinstance?_action=create",
            dict(ADMIN, **{"Content-Type": "application/json"}),
            json.dumps(START).encode(),
        )
        assert status == 201, data
        yield running


def request(
    port: int, method: str, target: str, headers: dict, body: bytes | None = None
) -> tuple[int, dict, dict]:
    """One request on its own connection: ``(status, headers, JSON body)``; the body must be
    JSON (an HTML or empty error page fails here)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        answer = dict(response.getheaders())
    finally:
        connection.close()
    assert answer.get("Content-Type", "").startswith("application/json"), (answer, raw[:200])
    return response.status, answer, json.loads(raw)


def timed(port: int, method: str, target: str, headers: dict, body: bytes | None = None):
    """``request`` plus its wall time, asserted under ``BOUND``."""
    started = time.perf_counter()
    answer = request(port, method, target, headers, body)
    elapsed = time.perf_counter() - started
    assert elapsed < BOUND, f"{method} {target[:80]} took {elapsed:.2f}s"
    return answer


def served_meanwhile(port: int, hostile, *args):
    """Run ``hostile(*args)`` in a thread while a cheap read is sent beside it: the read must be
    answered (200) within ``BOUND``. Returns what ``hostile`` returned (its exceptions too)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        future = pool.submit(hostile, *args)
        status, _, data = timed(
            port, "GET", f"{WF}/processdefinition?_queryId=query-all-ids", ADMIN
        )
        assert status == 200 and data["resultCount"] >= 1, data
        return future.result()


def stored(port: int) -> dict[str, int]:
    """How many models, definitions and instances (running and historic) are stored."""
    collections = ("model", "processdefinition", "processinstance", "processinstance/history")
    return {collection: count(port, collection) for collection in collections}


def count(port: int, collection: str) -> int:
    status, _, data = request(port, "GET", f"{WF}/{collection}?_queryFilter=true", ADMIN)
    assert status == 200, data
    return data["resultCount"]


def assert_envelope(data: dict, code: int, reason: str) -> None:
    assert data["code"] == code and data["reason"] == reason and data["message"], data


# --- item 2: LIKE and co/sw in linear time ---------------------------------------------------

HOSTILE_QUERIES = [
    f"processdefinition?_queryId=filtered-query&keyLike={ADVERSARIAL}",
    f"processdefinition?_queryId=filtered-query&nameLike={ADVERSARIAL}",
    f"processdefinition?_queryId=filtered-query&categoryLike={ADVERSARIAL}",
    f"processdefinition?_queryId=filtered-query&processDefinitionResourceNameLike={ADVERSARIAL}",
    f"taskinstance?_queryId=filtered-query&nameLike={ADVERSARIAL}",
    f"taskinstance?_queryId=filtered-query&descriptionLike={ADVERSARIAL}",
    f"taskinstance/history?_queryId=filtered-query&taskNameLike={ADVERSARIAL}",
    "execution?_queryId=filtered-query&processVariableName=mail"
    f"&processVariableValue={ADVERSARIAL}&processVariableOperator=like",
    "execution?_queryId=filtered-query&processVariableName=mail"
    f"&processVariableValue={ADVERSARIAL}&processVariableOperator=likeIgnoreCase",
    "processinstance?_queryFilter="
    + quote(f'businessKey co "{"contractor-" * 200}x" or businessKey sw "{"c" * 5000}"'),
]


def test_hostile_like_patterns_answer_at_once_and_others_are_served(service):
    port = service.port
    with ThreadPoolExecutor(max_workers=len(HOSTILE_QUERIES) + 1) as pool:
        hostile = [pool.submit(timed, port, "GET", f"{WF}/{q}", ADMIN) for q in HOSTILE_QUERIES]
        normal = pool.submit(
            timed, port, "GET", f"{WF}/processdefinition?_queryId=query-all-ids", ADMIN
        )
        status, _, data = normal.result()
        assert status == 200 and data["resultCount"] >= 1
        for query, future in zip(HOSTILE_QUERIES, hostile, strict=True):
            status, _, data = future.result()
            assert status == 200 and data["result"] == [], (query, data)


def test_like_patterns_still_match(service):
    port = service.port
    cases = {
        "processdefinition?_queryId=filtered-query&keyLike=" + quote("%%ontractor%On%"): 1,
        "processdefinition?_queryId=filtered-query&keyLike=" + quote("contractorOnboardin_"): 1,
        "taskinstance?_queryId=filtered-query&nameLike=" + quote("%Contractor"): 1,
        "execution?_queryId=filtered-query&processVariableName=mail"
        "&processVariableValue="
        + quote("JDOE@%.COM")
        + "&processVariableOperator=likeIgnoreCase": 1,
    }
    for query, at_least in cases.items():
        status, _, data = timed(port, "GET", f"{WF}/{query}", ADMIN)
        assert status == 200 and data["resultCount"] >= at_least, (query, data)


# --- item 7: XML bodies in their declared charset ----------------------------------------------

LATIN1_BPMN = """<?xml version="1.0" encoding="ISO-8859-1"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="Tests">
  <process id="cafe" name="Caf\u00e9 cr\u00e8me" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="end"/>
    <endEvent id="end" name="Termin\u00e9"/>
  </process>
</definitions>
"""


@pytest.mark.parametrize(
    "content_type", ["application/xml; charset=ISO-8859-1", "application/xml", "text/xml"]
)
def test_a_latin1_document_gets_a_validation_report(service, content_type):
    before = count(service.port, "model")
    headers = dict(ADMIN, **{"Content-Type": content_type})
    status, _, data = served_meanwhile(
        service.port,
        timed,
        service.port,
        "POST",
        f"{WF}/model?_action=validate_bpmn",
        headers,
        LATIN1_BPMN.encode("latin-1"),
    )
    assert status == 200 and data == {"valid": True, "errors": [], "warnings": []}, data
    assert count(service.port, "model") == before


def test_a_latin1_document_with_a_problem_is_reported_with_its_line(service):
    document = LATIN1_BPMN.replace(
        '<endEvent id="end"',
        '<scriptTask id="s\u00e9" scriptFormat="groovy"><script>1</script></scriptTask>\n'
        '    <endEvent id="end"',
    )
    headers = dict(ADMIN, **{"Content-Type": "application/xml; charset=ISO-8859-1"})
    status, _, data = timed(
        service.port,
        "POST",
        f"{WF}/model?_action=validate_bpmn",
        headers,
        document.encode("latin-1"),
    )
    assert status == 200 and data["valid"] is False
    assert any(
        error.get("activityId") == "s\u00e9" and error["xmlLineNumber"] == 6
        for error in data["errors"]
    )


def test_an_unknown_charset_is_a_400_naming_it(service):
    headers = dict(ADMIN, **{"Content-Type": "application/xml; charset=x-klingon"})
    status, _, data = timed(
        service.port, "POST", f"{WF}/model?_action=validate_bpmn", headers, b"<a/>"
    )
    assert status == 400 and "'x-klingon'" in data["message"], data


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "UTF-16"])
def test_a_doctype_is_refused_in_every_encoding(service, encoding):
    document = LATIN1_BPMN.replace("ISO-8859-1", encoding).replace(
        "<definitions", '<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<definitions', 1
    )
    headers = dict(ADMIN, **{"Content-Type": f"application/xml; charset={encoding}"})
    status, _, data = timed(
        service.port,
        "POST",
        f"{WF}/model?_action=validate_bpmn",
        headers,
        document.encode(encoding),
    )
    assert status == 200 and data["valid"] is False, data
    assert "DOCTYPE" in json.dumps(data) and "root:" not in json.dumps(data), data


# --- item 8: credentials ------------------------------------------------------------------------

CREATE = f"{WF}/processinstance?_action=create"


def _create_with(port: int, headers: dict) -> tuple[int, dict, dict]:
    headers = dict(headers, **{"Content-Type": "application/json"})
    return timed(port, "POST", CREATE, headers, json.dumps(START).encode())


def test_undecodable_basic_credentials_are_a_crest_401_and_others_are_served(service):
    before = count(service.port, "processinstance")
    tokens = ("AAAAAAAAAAAAAAAAAAAAAAAA", "!!!", base64.b64encode(b"\xff\xfe").decode())

    def hostile() -> list:
        return [_create_with(service.port, {"Authorization": f"Basic {t}"}) for t in tokens]

    for status, headers, data in served_meanwhile(service.port, hostile):
        assert status == 401 and headers["WWW-Authenticate"] == 'Basic realm="openidm"'
        assert_envelope(data, 401, "Unauthorized")
    assert count(service.port, "processinstance") == before


@pytest.mark.parametrize("size", [20_000, 1024 * 1024])
def test_an_oversized_header_is_a_crest_431_and_others_are_served(service, size):
    before = count(service.port, "processinstance")
    headers = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "x" * size}
    with ThreadPoolExecutor(max_workers=2) as pool:
        hostile = pool.submit(_create_with, service.port, headers)
        normal = pool.submit(
            timed, service.port, "GET", f"{WF}/processdefinition?_queryId=query-all-ids", ADMIN
        )
        assert normal.result()[0] == 200
        status, _, data = hostile.result()
    assert status == 431
    assert_envelope(data, 431, "Request Header Fields Too Large")
    assert "xxxx" not in data["message"]
    assert count(service.port, "processinstance") == before


def test_user_names_are_compared_exactly_and_others_are_served(service):
    """A name with a leading space is another name, in every form that can carry the space
    (a raw header's surrounding whitespace is not part of its value in HTTP)."""
    before = count(service.port, "processinstance")
    spaced = base64.b64encode(b" openidm-admin:openidm-admin").decode()
    attempts = (
        {"Authorization": f"Basic {spaced}"},
        {"X-OpenIDM-Username": "UTF-8''%20openidm-admin", "X-OpenIDM-Password": "openidm-admin"},
        {"X-OpenIDM-Username": "UTF-8''openidm-admin%20", "X-OpenIDM-Password": "openidm-admin"},
        {"X-OpenIDM-Username": "OPENIDM-ADMIN", "X-OpenIDM-Password": "openidm-admin"},
    )

    def hostile() -> list:
        return [_create_with(service.port, headers) for headers in attempts]

    answers = served_meanwhile(service.port, hostile)
    for headers, (status, _, data) in zip(attempts, answers, strict=True):
        assert status == 401, headers
        assert_envelope(data, 401, "Unauthorized")
    assert count(service.port, "processinstance") == before


# --- item 9: outside the API root ----------------------------------------------------------------


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.mark.parametrize(
    "method, target",
    [
        ("GET", "/"),
        ("GET", "/openidm/managed/user?_queryFilter=true"),
        ("POST", "/admin"),
        ("DELETE", f"{WF}/a/b/c/d/e/f/g/h/i"),
    ],
)
def test_outside_the_api_a_crest_404_that_echoes_nothing_and_is_logged(service, method, target):
    """Also answered while other requests are served, and storing nothing (``POST /admin``
    carries admin credentials and a body)."""
    secret = base64.b64encode(b"openidm-admin:openidm-admin").decode()
    before = stored(service.port)
    lines = _Lines()
    logger = logging.getLogger("workflow.local")
    logger.addHandler(lines)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        status, headers, data = served_meanwhile(
            service.port,
            timed,
            service.port,
            method,
            target,
            {"Authorization": f"Basic {secret}"},
            b"{}",
        )
    finally:
        logger.removeHandler(lines)
        logger.setLevel(level)
    assert status == 404
    assert_envelope(data, 404, "Not Found")
    assert secret not in json.dumps(data) and secret not in json.dumps(headers)
    assert "Basic" not in json.dumps(data) and "managed" not in json.dumps(data)
    path = target.split("?")[0]
    assert any(line.startswith(f"{method} {path} 404 ") for line in lines.lines), lines.lines
    assert not any(secret in line or "_queryFilter" in line for line in lines.lines)
    assert stored(service.port) == before


def test_unsupported_methods_and_malformed_requests_are_crest_envelopes(service):
    status, _, data = timed(service.port, "TRACE", f"{WF}/processdefinition", ADMIN)
    assert status == 501
    assert_envelope(data, 501, "Not Implemented")


def test_a_long_request_line_reaches_the_app_and_an_overlong_one_is_a_crest_414(service):
    needle = "x" * 20_000
    query = "processinstance?_queryFilter=" + quote(f'businessKey co "{needle}"')
    status, _, data = timed(service.port, "GET", f"{WF}/{query}", ADMIN)
    assert status == 200 and data["result"] == [], data
    status, _, data = timed(service.port, "GET", f"{WF}/processdefinition?x={'y' * 70_000}", ADMIN)
    assert status == 414
    assert_envelope(data, 414, "Request-URI Too Large")
    assert "yyyy" not in data["message"]


@pytest.mark.parametrize("target, code", [(f"{WF}/processdefinition", 401), ("/elsewhere", 404)])
def test_non_ascii_credentials_are_crest_envelopes(service, target, code):
    headers = {"Authorization": "Basic caf\u00e9", "X-Other": "\u00ff" * 100}
    status, _, data = timed(service.port, "GET", target, headers)
    assert status == code and data["code"] == code, data
    assert "caf" not in json.dumps(data)
