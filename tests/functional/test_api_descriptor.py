"""``GET /openidm/workflow?_api``: the OpenAPI description, through Chalice's test client."""

from __future__ import annotations

import json

from tests.support.rest import ADMIN

WF = "/openidm/workflow"


def test_api_parameter_answers_the_openapi_document(client):
    response = client.http.get(f"{WF}?_api", headers=ADMIN)
    assert response.status_code == 200, response.body
    document = json.loads(response.body)
    assert document["openapi"].startswith("3.")
    assert f"{WF}/taskinstance/{{id}}#_action_complete" in document["paths"]


def test_the_root_without_api_is_still_404(client):
    response = client.http.get(WF, headers=ADMIN)
    assert response.status_code == 404, response.body
    assert json.loads(response.body)["message"] == "Resource 'workflow' not found"


def test_api_needs_a_caller(client):
    assert client.http.get(f"{WF}?_api").status_code == 401


def test_a_route_describes_itself_and_what_is_below_it(client):
    response = client.http.get(f"{WF}/taskinstance?_api", headers=ADMIN)
    assert response.status_code == 200, response.body
    paths = {key.split("#")[0] for key in json.loads(response.body)["paths"]}
    assert paths == {
        f"{WF}/taskinstance",
        f"{WF}/taskinstance/{{id}}",
        f"{WF}/taskinstance/history",
        f"{WF}/taskinstance/history/{{sub}}",
    }
    one = client.http.get(f"{WF}/taskinstance/history/abc?_api", headers=ADMIN)
    assert {k.split("#")[0] for k in json.loads(one.body)["paths"]} == {
        f"{WF}/taskinstance/history/{{sub}}"
    }


def test_an_unknown_path_stays_404_with_api(client):
    response = client.http.get(f"{WF}/nothing/here?_api", headers=ADMIN)
    assert response.status_code == 404, response.body
