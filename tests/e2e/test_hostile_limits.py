"""Issue 12, items 3 to 6: oversized and hostile input through the real launcher, over HTTP.

Each case asserts the 400 with its CREST envelope naming the limit (a ``WORKFLOW_MAX_*``
setting) and the field at fault, that it is answered within the time bound, and that nothing
was stored (no instance, no history, the task still open). One case of each item also checks
that another request is served meanwhile.

The module's launcher lowers ``WORKFLOW_MAX_RESPONSE_BYTES`` so that a response over the limit
needs only a few hundred KB of variables; every other limit keeps its default. Its users file
adds, beside ``openidm-admin``, an administrator whose name is too long for a key, so that a
start by them (``startUserId``) is refused.
"""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import quote

import pytest

from chalicelib.auth.passwords import hash_password
from chalicelib.auth.users import BUILTIN_USERS_FILE
from tests.support.launcher import WF, call, running_launcher
from tests.support.rest import ADMIN

JSON = dict(ADMIN, **{"Content-Type": "application/json"})
#: every refusal here must come back within this many seconds
TIME_BOUND = 2.0
RESPONSE_LIMIT = 300_000
#: an administrator whose user name (and so an instance's ``startUserId``) is too long a key
LONG_USER = {"X-OpenIDM-Username": "s" * 300, "X-OpenIDM-Password": "long-user-password"}

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:flowable="http://flowable.org/bpmn" targetNamespace="Tests">
  <process id="{key}" name="{key}" isExecutable="true">
    <startEvent id="begin"/>
    <sequenceFlow id="f1" sourceRef="begin" targetRef="work"/>
    {work}
    <sequenceFlow id="f2" sourceRef="work" targetRef="wait"/>
    <userTask id="wait" name="Wait" {task}/>
    <sequenceFlow id="f3" sourceRef="wait" targetRef="finish"/>
    <endEvent id="finish"/>
  </process>
</definitions>"""

NOTHING = '<task id="work"/>'


def script(text: str) -> str:
    return f'<scriptTask id="work" scriptFormat="javascript"><script>{text}</script></scriptTask>'


DEFINITIONS = {
    "plain": (NOTHING, 'flowable:candidateGroups="manager"'),
    "assignedTo": (NOTHING, 'flowable:assignee="${who}"'),
    "offeredTo": (NOTHING, 'flowable:candidateUsers="${who}"'),
    "groupedFor": (NOTHING, 'flowable:candidateGroups="${group}"'),
    "ownedBy": (NOTHING, 'flowable:owner="${who}"'),
    "bigScript": (script("execution.setVariable('big', 'x'.repeat(7 * 1024 * 1024));"), ""),
    "deepScript": (
        script(
            "var v = []; for (var i = 0; i &lt; 100; i++) { v = [v]; } "
            "execution.setVariable('deep', v);"
        ),
        "",
    ),
    "manyScript": (
        script("for (var i = 0; i &lt; 3000; i++) { execution.setVariable('v' + i, i); }"),
        "",
    ),
}


@pytest.fixture(scope="module")
def launcher(tmp_path_factory):
    """The launcher (no ``workflow/``) with this module's definitions deployed, and the
    built-in users plus :data:`LONG_USER` (an administrator too)."""
    users = json.loads(BUILTIN_USERS_FILE.read_text(encoding="utf-8"))
    [admin] = [user for user in users["users"] if user["username"] == "openidm-admin"]
    password = hash_password(LONG_USER["X-OpenIDM-Password"], iterations=1_000)
    users["users"].append(dict(admin, username=LONG_USER["X-OpenIDM-Username"], password=password))
    users_file = tmp_path_factory.mktemp("users") / "users.json"
    users_file.write_text(json.dumps(users), encoding="utf-8")
    with running_launcher(
        deploy_workflows=False,
        WORKFLOW_MAX_RESPONSE_BYTES=str(RESPONSE_LIMIT),
        WORKFLOW_USERS_FILE=str(users_file),
    ) as running:
        from chalicelib.bootstrap import get_container
        from chalicelib.service.definitions.deploy import deploy

        for key, (work, task) in DEFINITIONS.items():
            text = PROCESS.format(key=key, work=work, task=task)
            deploy(get_container(), source=f"limits:{key}", name=key, bpmn={f"{key}.bpmn": text})
        yield running


# --- helpers -------------------------------------------------------------------------------


def post(
    launcher, path: str, payload, method: str = "POST", headers: dict | None = None
) -> tuple[int, dict, float]:
    """POST JSON (a dict, or text sent as is), as the admin unless ``headers`` say otherwise:
    ``(status, body, seconds)``."""
    data = payload if isinstance(payload, str) else json.dumps(payload)
    headers = JSON if headers is None else dict(headers, **{"Content-Type": "application/json"})
    started = time.monotonic()
    status, _, body = call(f"{launcher.url}{WF}/{path}", method, headers, data.encode())
    return status, body, time.monotonic() - started


def get(launcher, path: str) -> tuple[int, dict]:
    status, _, body = call(f"{launcher.url}{WF}/{path}", headers=ADMIN)
    return status, body


def start(launcher, payload) -> tuple[int, dict, float]:
    return post(launcher, "processinstance?_action=create", payload)


def start_refused(launcher, key: str, payload, limit: str, field: str, *, meanwhile=False):
    """Starting ``key`` with ``payload`` is refused (see :func:`refused`), and no instance of
    ``key`` was stored, running or in history."""
    before = stored_instances(launcher, key)
    if meanwhile:
        status, body, seconds = served_meanwhile(launcher, lambda: start(launcher, payload))
    else:
        status, body, seconds = start(launcher, payload)
    refused(status, body, seconds, limit, field)
    assert stored_instances(launcher, key) == before


def refused(status: int, body: dict, seconds: float, limit: str, field: str) -> None:
    """A CREST 400 envelope naming ``limit`` and ``field``, answered within the time bound."""
    assert status == 400, body
    assert body["code"] == 400 and body["reason"] == "Bad Request", body
    assert limit in body["message"], body["message"]
    assert body["detail"]["limit"] == limit and body["detail"]["field"] == field, body
    assert seconds < TIME_BOUND, seconds


def stored_instances(launcher, key: str) -> list:
    """Running and historic instances of ``key`` (both must be empty after a refusal)."""
    found = []
    for path in ("processinstance", "processinstance/history"):
        status, body = get(
            launcher, f"{path}?_queryId=filtered-query&processDefinitionKey={key}&_fields=_id"
        )
        assert status == 200, body
        found.extend(body["result"])
    return found


def stored_anywhere(launcher) -> dict[str, int]:
    """How many instances (running, historic) and jobs are stored, of every definition."""
    counts = {}
    for path in ("processinstance", "processinstance/history", "job"):
        status, body = get(launcher, f"{path}?_queryFilter=true&_fields=_id")
        assert status == 200, body
        counts[path] = body["resultCount"]
    return counts


def served_meanwhile(launcher, hostile) -> tuple:
    """Run ``hostile()`` in a thread; while it runs, a cheap read must be answered within
    the time bound. Returns what ``hostile()`` returned."""
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(hostile()))
    thread.start()
    started = time.monotonic()
    status, _ = get(launcher, "processdefinition?_queryId=query-all-ids")
    elapsed = time.monotonic() - started
    thread.join(timeout=30)
    assert status == 200 and elapsed < TIME_BOUND, elapsed
    assert outcome, "the hostile request did not finish"
    return outcome[0]


# --- item 3: strings that become DynamoDB keys ----------------------------------------------


def test_an_assignee_expression_too_long_for_a_key_is_refused_and_nothing_stored(launcher):
    start_refused(
        launcher,
        "assignedTo",
        {"_key": "assignedTo", "who": "u" * 5000},
        "WORKFLOW_MAX_KEY_LENGTH",
        "assignee",
        meanwhile=True,
    )
    # the same process with a sane assignee starts
    status, body, _ = start(launcher, {"_key": "assignedTo", "who": "u" * 255})
    assert status == 201, body


def test_a_candidate_user_too_long_for_a_key_is_refused(launcher):
    start_refused(
        launcher,
        "offeredTo",
        {"_key": "offeredTo", "who": "c" * 300},
        "WORKFLOW_MAX_KEY_LENGTH",
        "candidateUsers",
    )


def test_a_candidate_group_too_long_for_a_key_is_refused(launcher):
    start_refused(
        launcher,
        "groupedFor",
        {"_key": "groupedFor", "group": "g" * 300},
        "WORKFLOW_MAX_KEY_LENGTH",
        "candidateGroups",
    )


def test_an_owner_too_long_for_a_key_is_refused_at_start_and_on_update(launcher):
    start_refused(
        launcher,
        "ownedBy",
        {"_key": "ownedBy", "who": "o" * 300},
        "WORKFLOW_MAX_KEY_LENGTH",
        "owner",
    )
    status, created, _ = start(launcher, {"_key": "plain"})
    assert status == 201, created
    [task] = get(launcher, f"processinstance/{created['_id']}")[1]["tasks"]
    status, body, seconds = post(
        launcher, f"taskinstance/{task['_id']}", {"owner": "o" * 300}, method="PUT"
    )
    refused(status, body, seconds, "WORKFLOW_MAX_KEY_LENGTH", "owner")
    status, after = get(launcher, f"taskinstance/{task['_id']}")
    assert status == 200 and after["owner"] is None, after
    call(f"{launcher.url}{WF}/processinstance/{created['_id']}", "DELETE", ADMIN)


def test_a_start_by_a_user_whose_name_is_too_long_a_key_is_refused(launcher):
    """The caller becomes the instance's ``startUserId``, an index key."""
    before = stored_instances(launcher, "plain")
    status, body, seconds = post(
        launcher, "processinstance?_action=create", {"_key": "plain"}, headers=LONG_USER
    )
    refused(status, body, seconds, "WORKFLOW_MAX_KEY_LENGTH", "startUserId")
    assert stored_instances(launcher, "plain") == before
    # the same user reads: the refusal was the key, not the credentials
    status, _, listing = call(
        f"{launcher.url}{WF}/processdefinition?_queryId=query-all-ids", headers=LONG_USER
    )
    assert status == 200 and listing["resultCount"] >= 1, listing


def test_a_business_key_too_long_is_refused(launcher):
    start_refused(
        launcher,
        "plain",
        {"_key": "plain", "_businessKey": "b" * 5000},
        "WORKFLOW_MAX_KEY_LENGTH",
        "businessKey",
    )
    status, body = get(
        launcher, "processinstance?_queryId=filtered-query&processInstanceBusinessKey=" + "b" * 5000
    )
    assert status == 200 and body["result"] == []


def test_a_variable_name_too_long_for_a_key_is_refused(launcher):
    start_refused(
        launcher,
        "plain",
        {"_key": "plain", "n" * 1000: 1},
        "WORKFLOW_MAX_KEY_LENGTH",
        "variable name",
    )


def test_a_definition_key_too_long_is_refused_and_not_deployed(launcher):
    from chalicelib.bootstrap import get_container
    from chalicelib.limits import LimitExceeded
    from chalicelib.service.definitions.deploy import deploy

    key = "k" * 300
    text = PROCESS.format(key=key, work=NOTHING, task="")
    with pytest.raises(LimitExceeded) as caught:
        deploy(get_container(), source="limits:long", name="long", bpmn={"long.bpmn": text})
    assert caught.value.detail["field"] == "processDefinitionKey"
    status, body = get(launcher, "processdefinition?_queryId=query-all-ids")
    assert status == 200 and all(len(item["_id"]) < 300 for item in body["result"])


def test_a_model_whose_key_is_too_long_is_refused_on_deploy(launcher):
    key = "m" * 300
    text = PROCESS.format(key=key, work=NOTHING, task="")
    status, model, _ = post(launcher, "model", {"name": "long", "bpmnXML": text})
    assert status == 201, model
    status, body, seconds = post(launcher, f"model/{model['_id']}?_action=deploy", {})
    refused(status, body, seconds, "WORKFLOW_MAX_KEY_LENGTH", "processDefinitionKey")
    status, listing = get(launcher, f"processdefinition?_queryFilter=key%20eq%20%22{key}%22")
    assert status == 200 and listing["result"] == [], listing
    status, listing = get(launcher, "processdefinition?_queryId=query-all-ids")
    assert status == 200 and all(len(item["_id"]) < 300 for item in listing["result"])
    assert call(f"{launcher.url}{WF}/model/{model['_id']}", "DELETE", ADMIN)[0] == 200


def test_a_claim_for_a_user_id_too_long_changes_nothing(launcher):
    status, created, _ = start(launcher, {"_key": "plain"})
    assert status == 201, created
    [task] = get(launcher, f"processinstance/{created['_id']}")[1]["tasks"]
    status, body, seconds = post(
        launcher, f"taskinstance/{task['_id']}?_action=claim", {"userId": "u" * 5000}
    )
    refused(status, body, seconds, "WORKFLOW_MAX_KEY_LENGTH", "assignee")
    status, after = get(launcher, f"taskinstance/{task['_id']}")
    assert status == 200 and after["assignee"] is None, after
    call(f"{launcher.url}{WF}/processinstance/{created['_id']}", "DELETE", ADMIN)


@pytest.mark.parametrize(
    "action, payload, field",
    [
        ("message", {"messageName": "m" * 5000}, "messageName"),
        ("message", {"messageName": "m", "businessKey": "b" * 300}, "businessKey"),
        ("signal", {"signalName": "s" * 5000}, "signalName"),
        ("signal", {"signalName": "s" * 5000, "processVariables": {"a": 1}}, "signalName"),
    ],
)
def test_message_and_signal_names_too_long_are_refused(launcher, action, payload, field):
    before = stored_anywhere(launcher)
    status, body, seconds = post(launcher, f"execution?_action={action}", payload)
    refused(status, body, seconds, "WORKFLOW_MAX_KEY_LENGTH", field)
    assert stored_anywhere(launcher) == before


def test_an_id_too_long_for_a_key_reads_as_not_found(launcher):
    for path in ("processinstance/", "taskinstance/", "processinstance/history/"):
        status, body = get(launcher, path + "i" * 5000)
        assert status == 404 and body["code"] == 404, (path, body)
    status, body = get(
        launcher, "taskinstance?_queryId=filtered-query&taskCandidateUser=" + quote("c" * 5000)
    )
    assert status == 200 and body["result"] == []


# --- item 4: JSON depth ----------------------------------------------------------------------


def test_a_body_nested_900_levels_is_refused_naming_the_depth_limit(launcher):
    text = '{"_key": "plain", "deep": ' + "[" * 900 + "]" * 900 + "}"
    start_refused(
        launcher, "plain", text, "WORKFLOW_MAX_JSON_DEPTH", "request body", meanwhile=True
    )


def test_a_body_nested_64_levels_is_accepted(launcher):
    status, body, _ = start(launcher, {"_key": "plain", "deep": json.loads("[" * 63 + "]" * 63)})
    assert status == 201, body
    status, read = get(launcher, f"processinstance/{body['_id']}")
    assert status == 200 and read["processVariables"]["deep"] == json.loads("[" * 63 + "]" * 63)
    assert call(f"{launcher.url}{WF}/processinstance/{body['_id']}", "DELETE", ADMIN)[0] == 200


def test_a_script_value_nested_too_deep_is_refused(launcher):
    start_refused(launcher, "deepScript", {"_key": "deepScript"}, "WORKFLOW_MAX_JSON_DEPTH", "deep")


# --- item 5: sizes ---------------------------------------------------------------------------


def test_a_script_variable_of_7_mb_is_refused(launcher):
    start_refused(
        launcher,
        "bigScript",
        {"_key": "bigScript"},
        "WORKFLOW_MAX_VARIABLE_BYTES",
        "big",
        meanwhile=True,
    )


def test_an_instance_s_variables_past_their_total_are_refused(launcher):
    payload = {"_key": "plain", **{f"part{i}": "p" * 250_000 for i in range(17)}}
    start_refused(launcher, "plain", payload, "WORKFLOW_MAX_INSTANCE_VARIABLE_BYTES", "variables")


def test_a_read_past_the_response_limit_is_refused_and_fields_read_the_rest(launcher):
    payload = {"_key": "plain", "a": "a" * 200_000, "b": "b" * 200_000, "small": 1}
    status, created, _ = start(launcher, payload)
    assert status == 201, created
    instance = created["_id"]
    started = time.monotonic()
    status, body = get(launcher, f"processinstance/{instance}")
    refused(
        status, body, time.monotonic() - started, "WORKFLOW_MAX_RESPONSE_BYTES", "tasks"
    )  # each task shows the variables too: the largest field
    assert set(body["detail"]["fields"]) >= {"tasks", "processVariables"}
    status, body = get(launcher, f"processinstance/{instance}?_fields=_id,businessKey,startTime")
    assert status == 200 and body["_id"] == instance and body["startTime"]
    for name in ("a", "b"):
        status, body = get(launcher, f"processinstance/{instance}?_fields=processVariables/{name}")
        assert status == 200 and body[name] == name * 200_000  # keyed by the leaf (CREST)
    # a delete changes something: it is made, and answers the _id alone
    status, _, body = call(f"{launcher.url}{WF}/processinstance/{instance}", "DELETE", ADMIN)
    assert status == 200 and body == {"_id": instance}, body
    status, body = get(
        launcher,
        f"processinstance?_queryId=filtered-query&processInstanceId={instance}&_fields=_id",
    )
    assert status == 200 and body["result"] == []  # no longer running


# --- item 6: variables set by one request or one script -------------------------------------


def test_a_start_body_with_1000_variables_is_refused_while_others_are_served(launcher):
    payload = {"_key": "plain", **{f"v{i}": f"value {i}" for i in range(1000)}}
    start_refused(
        launcher,
        "plain",
        payload,
        "WORKFLOW_MAX_VARIABLES_PER_REQUEST",
        "request body",
        meanwhile=True,
    )


def test_a_script_setting_3000_variables_is_refused_while_others_are_served(launcher):
    start_refused(
        launcher,
        "manyScript",
        {"_key": "manyScript"},
        "WORKFLOW_MAX_VARIABLES_PER_REQUEST",
        "work",
        meanwhile=True,
    )


def test_a_complete_with_too_many_variables_changes_nothing(launcher):
    status, created, _ = start(launcher, {"_key": "plain", "kept": "yes"})
    assert status == 201, created
    instance = created["_id"]
    status, read = get(launcher, f"processinstance/{instance}")
    [task] = read["tasks"]
    payload = {f"v{i}": i for i in range(1000)}
    status, body, seconds = served_meanwhile(
        launcher, lambda: post(launcher, f"taskinstance/{task['_id']}?_action=complete", payload)
    )
    refused(status, body, seconds, "WORKFLOW_MAX_VARIABLES_PER_REQUEST", "request body")
    status, after = get(launcher, f"processinstance/{instance}")
    assert status == 200 and after["processVariables"] == read["processVariables"]
    assert [t["_id"] for t in after["tasks"]] == [task["_id"]]
    assert call(f"{launcher.url}{WF}/processinstance/{instance}", "DELETE", ADMIN)[0] == 200
