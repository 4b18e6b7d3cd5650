"""``diagram`` on processdefinition and processinstance reads, JSON and ``_mimeType`` (moto)."""

from __future__ import annotations

import base64
import json

from tests.support.diagram import HEIGHT, RED, TASK_EDGE, WIDTH, decode, di_bpmn
from tests.support.rest import ADMIN, WF, expect, simple_bpmn

JSON_ADMIN = dict(ADMIN, **{"Content-Type": "application/json"})


def call(client, method: str, path: str, payload=None, headers=None):
    body = None if payload is None else json.dumps(payload).encode()
    return client.http.request(method, f"{WF}/{path}", headers=headers or JSON_ADMIN, body=body)


def deploy_model(client, payload: dict) -> str:
    model = expect(call(client, "POST", "model", payload), 201)
    deployed = expect(call(client, "POST", f"model/{model['_id']}?_action=deploy"), 200)
    return deployed["processDefinitionIds"][0]


def get(client, path: str, headers=None):
    return client.http.get(f"{WF}/{path}".replace(":", "%3A"), headers=headers or ADMIN)


def test_definition_diagram_is_rendered_only_when_requested(client):
    definition = deploy_model(client, {"name": "Template"})  # the template carries DI
    plain = expect(get(client, f"processdefinition/{definition}"), 200)
    assert "diagram" not in plain and plain["graphicalNotationDefined"] is True
    for fields in ("diagram", "/diagram"):
        data = expect(get(client, f"processdefinition/{definition}?_fields={fields}"), 200)
        assert set(data) == {"_id", "_rev", "diagram"} and data["diagram"].startswith("iVBORw")
    data = expect(
        get(client, f"processdefinition/{definition}?_fields=key,diagram,formProperties"), 200
    )
    assert set(data) == {"_id", "_rev", "key", "diagram", "formProperties"}


def test_diagram_interchange_names_the_generated_diagram_as_flowable(client):
    """DECISIONS.md: with diagram interchange (and no shipped image), processDiagramResourceName
    is ``<resource base>.<key>.png``, the image Flowable generates at deploy; the IDM admin
    instance page asks for the diagram only when it is set."""
    definition = deploy_model(client, {"name": "Drawn", "bpmnXML": di_bpmn("drawnName")})
    read = expect(get(client, f"processdefinition/{definition}"), 200)
    assert read["processDiagramResourceName"] == "Drawn.drawnName.png"
    assert read["graphicalNotationDefined"] is True
    listed = expect(get(client, "processdefinition?_queryFilter=key%20eq%20%22drawnName%22"), 200)
    assert listed["result"][0]["processDiagramResourceName"] == "Drawn.drawnName.png"
    response = get(
        client,
        f"processdefinition/{definition}?_fields=/diagram&_mimeType=image/png",
        dict(ADMIN, Accept="image/avif,image/webp,*/*"),
    )
    assert response.status_code == 200 and decode(response.body)[:2] == (WIDTH, HEIGHT)
    bare = deploy_model(client, {"name": "Bare", "bpmnXML": simple_bpmn(key="bareName")})
    assert (
        expect(get(client, f"processdefinition/{bare}"), 200)["processDiagramResourceName"] is None
    )


def test_mime_type_download_sends_the_png_bytes(client):
    definition = deploy_model(client, {"name": "Drawn", "bpmnXML": di_bpmn("drawnDef")})
    encoded = expect(get(client, f"processdefinition/{definition}?_fields=diagram"), 200)
    for accept in ("image/png", "image/avif,image/webp,*/*"):
        response = get(
            client,
            f"processdefinition/{definition}?_fields=/diagram&_mimeType=image/png",
            dict(ADMIN, Accept=accept),
        )
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/png"
        assert response.body == base64.b64decode(encoded["diagram"])
        assert decode(response.body)[:2] == (WIDTH, HEIGHT)


def test_without_diagram_interchange_diagram_is_omitted(client):
    definition = deploy_model(client, {"name": "Bare", "bpmnXML": simple_bpmn(key="bare")})
    data = expect(get(client, f"processdefinition/{definition}?_fields=diagram"), 200)
    assert data == {"_id": definition, "_rev": "1"}
    response = get(
        client,
        f"processdefinition/{definition}?_fields=diagram&_mimeType=image/png",
        dict(ADMIN, Accept="image/png"),
    )
    assert response.status_code == 404


def test_shipped_diagram_resource_is_returned_as_it_is(client, container):
    from chalicelib.service.definitions.deploy import deploy

    shipped = b"\x89PNG\r\n\x1a\n not really a picture"
    result = deploy(
        container,
        source="test:shipped",
        name="shipped",
        bpmn={"shipped.bpmn20.xml": di_bpmn("shipped")},
        resources={"shipped.shipped.png": shipped},
    )
    definition = result.definition_ids[0]
    data = expect(
        get(client, f"processdefinition/{definition}?_fields=diagram,processDiagramResourceName"),
        200,
    )
    assert data["processDiagramResourceName"] == "shipped.shipped.png"
    assert base64.b64decode(data["diagram"]) == shipped
    response = get(
        client,
        f"processdefinition/{definition}?_fields=diagram&_mimeType=image/png",
        dict(ADMIN, Accept="image/png"),
    )
    assert response.body == shipped and response.headers["Content-Type"] == "image/png"


def test_instance_diagram_highlights_the_waiting_user_task(client):
    deploy_model(client, {"name": "Drawn", "bpmnXML": di_bpmn("drawnRun")})
    started = expect(call(client, "POST", "processinstance", {"_key": "drawnRun"}), 201)
    instance = started["_id"]
    plain = expect(get(client, f"processinstance/{instance}"), 200)
    assert "diagram" not in plain
    x, y = TASK_EDGE
    for path in (f"processinstance/{instance}", f"processinstance/history/{instance}"):
        data = expect(get(client, f"{path}?_fields=diagram"), 200)
        assert set(data) == {"_id", "diagram"}
        width, height, pixels = decode(base64.b64decode(data["diagram"]))
        assert (width, height) == (WIDTH, HEIGHT) and pixels[y][x] == RED
    response = get(
        client,
        f"processinstance/{instance}?_fields=diagram&_mimeType=image/png",
        dict(ADMIN, Accept="image/png"),
    )
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/png"
    assert decode(response.body)[2][y][x] == RED

    tasks = expect(
        get(client, f"taskinstance?_queryFilter=processInstanceId%20eq%20%22{instance}%22"), 200
    )["result"]
    expect(call(client, "POST", f"taskinstance/{tasks[0]['_id']}?_action=complete", {}), 200)
    data = expect(get(client, f"processinstance/history/{instance}?_fields=diagram"), 200)
    pixels = decode(base64.b64decode(data["diagram"]))[2]
    assert pixels[y][x] != RED and not any(RED in row for row in pixels)
