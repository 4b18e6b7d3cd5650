"""The ``model`` routes (18-25) through Chalice's test client over moto."""

from __future__ import annotations

import json

import pytest

from tests.support.rest import (
    ADMIN,
    ANONYMOUS,
    JSON_HEADERS,
    WF,
    create_model,
    expect,
    post,
    simple_bpmn,
)


def deploy_model(client, model_id: str) -> dict:
    return expect(post(client, f"model/{model_id}?_action=deploy"), 200)


# --- create ----------------------------------------------------------------------------------


def test_create_returns_201_with_location_etag_and_template(client):
    from chalicelib.engine import validate_bpmn

    response = post(client, "model", {"name": "Leave request", "description": "days off"})
    data = expect(response, 201)
    assert response.headers["Location"] == f"{WF}/model/{data['_id']}"
    assert response.headers["ETag"] == '"1"' and data["_rev"] == "1"
    assert data["name"] == "Leave request" and data["description"] == "days off"
    assert data["createTime"].endswith("Z") and data["resourceMap"] == {}
    report = validate_bpmn(data["bpmnXML"])
    assert report.valid, report.to_json()
    process = report.definitions.executable_processes[0]
    assert process.name == "Leave request" and len(process.elements) == 2
    assert {"start", "end"} <= set(report.definitions.diagram.shapes)
    assert report.definitions.diagram.edges, "the template carries diagram edges"


def test_create_with_action_create_and_given_bpmn(client):
    data = expect(
        post(
            client,
            "model?_action=create",
            {"name": "Given", "bpmnXML": simple_bpmn(), "resourceMap": {"form.js": "{}"}},
        ),
        201,
    )
    assert data["bpmnXML"] == simple_bpmn() and data["resourceMap"] == {"form.js": "{}"}


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": 3}, "name"),
        ({"name": "x", "bpmnXML": 5}, "bpmnXML"),
        ({"name": "x", "resourceMap": []}, "resourceMap"),
        ({"name": "x", "resourceMap": {"a.js": 1}}, "a.js"),
        ({"name": "x", "resourceMap": {"../a.js": "x"}}, "../a.js"),
        ({"name": "x", "colour": "red"}, "colour"),
        ({"name": "x", "description": []}, "description"),
    ],
)
def test_create_bad_input_is_400_naming_the_field(client, payload, field):
    expect(post(client, "model", payload), 400, field)


def test_create_xml_body_is_400(client):
    headers = dict(ADMIN, **{"Content-Type": "application/xml"})
    response = client.http.post(f"{WF}/model", headers=headers, body=simple_bpmn().encode())
    expect(response, 400, "JSON")


def test_put_if_none_match_creates_at_id_then_412(client):
    headers = dict(JSON_HEADERS, **{"If-None-Match": "*"})
    response = client.http.put(
        f"{WF}/model/my-model", headers=headers, body=json.dumps({"name": "Mine"}).encode()
    )
    assert expect(response, 201)["_id"] == "my-model"
    again = client.http.put(
        f"{WF}/model/my-model", headers=headers, body=json.dumps({"name": "Mine"}).encode()
    )
    expect(again, 412)


# --- read, update, delete --------------------------------------------------------------------


def test_read_returns_full_model_with_etag(client):
    created = create_model(client, resourceMap={"form.js": "{ name: 'x' }"})
    response = client.http.get(f"{WF}/model/{created['_id']}", headers=ADMIN)
    data = expect(response, 200)
    assert data == created and response.headers["ETag"] == '"1"'


def test_read_unknown_is_404(client):
    expect(client.http.get(f"{WF}/model/nope", headers=ADMIN), 404, "nope")


def test_update_bumps_rev_and_keeps_unsent_fields(client):
    created = create_model(client, bpmnXML=simple_bpmn())
    headers = dict(JSON_HEADERS, **{"If-Match": '"1"'})
    response = client.http.put(
        f"{WF}/model/{created['_id']}",
        headers=headers,
        body=json.dumps({"_id": created["_id"], "name": "Renamed"}).encode(),
    )
    data = expect(response, 200)
    assert data["_rev"] == "2" and response.headers["ETag"] == '"2"'
    assert data["name"] == "Renamed" and data["bpmnXML"] == simple_bpmn()
    assert data["createTime"] == created["createTime"]
    read = expect(client.http.get(f"{WF}/model/{created['_id']}", headers=ADMIN), 200)
    assert read["name"] == "Renamed" and read["_rev"] == "2"


def test_update_with_stale_if_match_is_412_and_changes_nothing(client):
    created = create_model(client)
    path = f"{WF}/model/{created['_id']}"
    client.http.put(
        path,
        headers=dict(JSON_HEADERS, **{"If-Match": "*"}),
        body=json.dumps({"name": "Second"}).encode(),
    )
    stale = client.http.put(
        path,
        headers=dict(JSON_HEADERS, **{"If-Match": '"1"'}),
        body=json.dumps({"name": "Third"}).encode(),
    )
    expect(stale, 412)
    assert expect(client.http.get(path, headers=ADMIN), 200)["name"] == "Second"


def test_update_without_if_match_updates(client):
    created = create_model(client)
    response = client.http.put(
        f"{WF}/model/{created['_id']}",
        headers=JSON_HEADERS,
        body=json.dumps({"description": "now described"}).encode(),
    )
    assert expect(response, 200)["description"] == "now described"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"bogus": 1}, "bogus"),
        ({}, "No model field"),
        ({"name": ""}, "name"),
        ({"resourceMap": {"x": None}}, "x"),
    ],
)
def test_update_bad_input_is_400(client, payload, field):
    created = create_model(client)
    response = client.http.put(
        f"{WF}/model/{created['_id']}",
        headers=dict(JSON_HEADERS, **{"If-Match": "*"}),
        body=json.dumps(payload).encode(),
    )
    expect(response, 400, field)


def test_update_unknown_with_if_match_is_404(client):
    response = client.http.put(
        f"{WF}/model/ghost",
        headers=dict(JSON_HEADERS, **{"If-Match": "*"}),
        body=json.dumps({"name": "x"}).encode(),
    )
    expect(response, 404)


def test_delete_returns_model_and_keeps_definitions(client):
    created = create_model(client, bpmnXML=simple_bpmn(key="kept"))
    deployed = deploy_model(client, created["_id"])
    response = client.http.delete(f"{WF}/model/{created['_id']}", headers=ADMIN)
    assert expect(response, 200)["bpmnXML"] == simple_bpmn(key="kept")
    expect(client.http.get(f"{WF}/model/{created['_id']}", headers=ADMIN), 404)
    definition = deployed["processDefinitionIds"][0]
    expect(client.http.get(f"{WF}/processdefinition/{definition}", headers=ADMIN), 200)
    expect(client.http.delete(f"{WF}/model/{created['_id']}", headers=ADMIN), 404)


# --- query -----------------------------------------------------------------------------------


def test_query_omits_heavy_fields_unless_named_and_sorts_by_create_time(client, container):
    first = create_model(client, name="Alpha", bpmnXML=simple_bpmn())
    container.clock.advance(seconds=5)
    second = create_model(client, name="Beta")
    data = expect(
        client.http.get(f"{WF}/model?_queryFilter=true&_sortKeys=-createTime", headers=ADMIN), 200
    )
    assert [m["_id"] for m in data["result"]] == [second["_id"], first["_id"]]
    assert all("bpmnXML" not in m and "resourceMap" not in m for m in data["result"])
    named = expect(
        client.http.get(
            f"{WF}/model?_queryFilter=name%20eq%20%22Alpha%22&_fields=name,bpmnXML", headers=ADMIN
        ),
        200,
    )
    assert named["result"] == [
        {"_id": first["_id"], "_rev": "1", "name": "Alpha", "bpmnXML": simple_bpmn()}
    ]


def test_query_bad_sort_key_is_400(client):
    expect(
        client.http.get(f"{WF}/model?_queryFilter=true&_sortKeys=colour", headers=ADMIN),
        400,
        "colour",
    )


# --- validate_bpmn ---------------------------------------------------------------------------


def test_validate_bpmn_json_and_xml_bodies(client):
    valid = expect(post(client, "model?_action=validate_bpmn", {"bpmnXML": simple_bpmn()}), 200)
    assert valid == {"valid": True, "errors": [], "warnings": []}
    headers = dict(ADMIN, **{"Content-Type": "application/xml"})
    response = client.http.post(
        f"{WF}/model?_action=validate_bpmn", headers=headers, body=simple_bpmn().encode()
    )
    assert expect(response, 200)["valid"] is True


def test_validate_bpmn_reports_problems_with_lines(client):
    groovy = simple_bpmn().replace(
        '<endEvent id="end"/>',
        '<scriptTask id="s" scriptFormat="groovy"><script>1</script></scriptTask>'
        '<endEvent id="end"/>',
    )
    data = expect(post(client, "model?_action=validate_bpmn", {"bpmnXML": groovy}), 200)
    assert data["valid"] is False
    error = next(e for e in data["errors"] if e["activityId"] == "s")
    assert error["xmlLineNumber"] == 9 and error["isWarning"] is False


def test_validate_bpmn_malformed_xml_is_200_invalid(client):
    data = expect(post(client, "model?_action=validate_bpmn", {"bpmnXML": "<definitions"}), 200)
    assert data["valid"] is False and data["errors"][0]["xmlLineNumber"] >= 1


@pytest.mark.parametrize("payload", [{}, {"bpmnXML": 7}])
def test_validate_bpmn_without_xml_is_400_naming_bpmnxml(client, payload):
    expect(post(client, "model?_action=validate_bpmn", payload), 400, "bpmnXML")


def test_unknown_action_is_400(client):
    expect(post(client, "model?_action=explode", {}), 400, "Unknown action")


# --- deploy and list_deployments -------------------------------------------------------------


def test_deploy_versions_duplicates_and_lists(client):
    created = create_model(
        client, bpmnXML=simple_bpmn(key="leave"), resourceMap={"form.js": "{ v: 1 }"}
    )
    first = deploy_model(client, created["_id"])
    assert first["duplicate"] is False and ":" not in first["deploymentId"]
    assert first["processDefinitionIds"] == [f"leave:1:{first['deploymentId']}"]
    again = deploy_model(client, created["_id"])
    assert again == dict(first, duplicate=True)
    client.http.put(
        f"{WF}/model/{created['_id']}",
        headers=JSON_HEADERS,
        body=json.dumps({"resourceMap": {"form.js": "{ v: 2 }"}}).encode(),
    )
    second = deploy_model(client, created["_id"])
    assert second["duplicate"] is False
    assert second["processDefinitionIds"] == [f"leave:2:{second['deploymentId']}"]
    listed = expect(post(client, f"model/{created['_id']}?_action=list_deployments"), 200)
    assert listed["processDefinitionIds"] == (
        first["processDefinitionIds"] + second["processDefinitionIds"]
    )
    assert [d["deploymentId"] for d in listed["deployments"]] == [
        first["deploymentId"],
        second["deploymentId"],
    ]
    assert all(d["deployTime"].endswith("Z") for d in listed["deployments"])


def test_deploy_of_template_model_works(client):
    created = create_model(client, name="From template")
    deployed = deploy_model(client, created["_id"])
    assert deployed["processDefinitionIds"][0].startswith("fromTemplate:1:")


def test_deploy_invalid_bpmn_is_400_with_detail_errors(client):
    created = create_model(
        client, bpmnXML=simple_bpmn().replace('sourceRef="review"', 'sourceRef="nowhere"')
    )
    data = expect(post(client, f"model/{created['_id']}?_action=deploy"), 400, "not valid")
    assert data["detail"]["errors"][0]["problem"] and data["detail"]["errors"][0]["xmlLineNumber"]
    listed = expect(post(client, f"model/{created['_id']}?_action=list_deployments"), 200)
    assert listed == {"processDefinitionIds": [], "deployments": []}


@pytest.mark.parametrize("action", ["deploy", "list_deployments"])
def test_actions_on_unknown_model_are_404(client, action):
    expect(post(client, f"model/ghost?_action={action}"), 404, "ghost")


def test_largest_corpus_file_is_stored_and_deployed_through_the_api(client, corpus):
    """The biggest corpus BPMN (> 300 KB) round-trips as a model and as a deployed form."""
    biggest = max(
        (p for p in corpus.rglob("*.bpmn*") if p.is_file()), key=lambda p: p.stat().st_size
    )
    text = biggest.read_text(encoding="utf-8")
    assert len(text.encode()) > 300_000
    stored = create_model(client, name="Big", bpmnXML=text, resourceMap={"big.bpmn.txt": text})
    read = expect(client.http.get(f"{WF}/model/{stored['_id']}", headers=ADMIN), 200)
    assert read["bpmnXML"] == text and read["resourceMap"]["big.bpmn.txt"] == text
    # the corpus file itself does not deploy (vendor round-trip, non-executable): 400 listing why
    refused = expect(post(client, f"model/{stored['_id']}?_action=deploy"), 400)
    assert refused["detail"]["errors"]
    # a valid process whose start form is that big text, plus the text again as its own BPMN
    padded = simple_bpmn(key="big", form="big.bpmn.txt").replace(
        "</definitions>", f"<!-- {text.replace('--', '- -')} -->\n</definitions>"
    )
    client.http.put(
        f"{WF}/model/{stored['_id']}",
        headers=JSON_HEADERS,
        body=json.dumps({"bpmnXML": padded}).encode(),
    )
    deployed = deploy_model(client, stored["_id"])
    definition = deployed["processDefinitionIds"][0]
    read = expect(client.http.get(f"{WF}/processdefinition/{definition}", headers=ADMIN), 200)
    assert read["formGenerationTemplate"] == text


# --- authorization ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "model?_queryFilter=true"),
        ("POST", "model"),
        ("GET", "model/x"),
        ("PUT", "model/x"),
        ("DELETE", "model/x"),
        ("POST", "model?_action=validate_bpmn"),
        ("POST", "model/x?_action=deploy"),
        ("POST", "model/x?_action=list_deployments"),
    ],
)
def test_model_routes_are_forbidden_to_anonymous(client, method, path):
    response = client.http.request(
        method,
        f"{WF}/{path}",
        headers=dict(ANONYMOUS, **{"Content-Type": "application/json"}),
        body=b'{"name": "x"}' if method != "GET" else b"",
    )
    expect(response, 403, "Access denied")


def test_delete_with_stale_if_match_is_412_and_keeps_the_model(client):
    created = create_model(client)
    path = f"{WF}/model/{created['_id']}"
    client.http.put(path, headers=JSON_HEADERS, body=json.dumps({"name": "v2"}).encode())
    expect(client.http.delete(path, headers=dict(ADMIN, **{"If-Match": '"1"'})), 412)
    assert expect(client.http.get(path, headers=ADMIN), 200)["_rev"] == "2"
    assert (
        expect(client.http.delete(path, headers=dict(ADMIN, **{"If-Match": '"2"'})), 200)["name"]
        == "v2"
    )
