"""Wire conventions every route shares, through Chalice's test client over moto."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.rest import ADMIN, ANONYMOUS

WF = "/openidm/workflow"


def body(response) -> dict:
    return json.loads(response.body)


def assert_envelope(response, code: int, *fragments: str) -> dict:
    assert response.status_code == code, response.body
    data = body(response)
    assert data["code"] == code
    assert isinstance(data["reason"], str) and data["reason"]
    for fragment in fragments:
        assert fragment in data["message"], data["message"]
    assert "Traceback" not in response.body.decode() if isinstance(response.body, bytes) else True
    return data


def test_no_credentials_is_401_access_denied(client):
    data = assert_envelope(client.http.get(f"{WF}/processdefinition?_queryFilter=true"), 401)
    assert data == {"code": 401, "reason": "Unauthorized", "message": "Access Denied"}


def test_wrong_password_is_401(client):
    headers = dict(ADMIN, **{"X-OpenIDM-Password": "nope"})
    assert_envelope(
        client.http.get(f"{WF}/processdefinition?_queryFilter=true", headers=headers),
        401,
        "Access Denied",
    )


def test_basic_auth_works(client):
    token = base64.b64encode(b"openidm-admin:openidm-admin").decode()
    response = client.http.get(
        f"{WF}/processdefinition?_queryFilter=true", headers={"Authorization": f"Basic {token}"}
    )
    assert response.status_code == 200, response.body


def test_anonymous_is_forbidden(client):
    data = assert_envelope(
        client.http.get(f"{WF}/processdefinition?_queryFilter=true", headers=ANONYMOUS), 403
    )
    assert data["message"] == "Access denied"


def test_empty_collection_query_has_crest_envelope(client):
    response = client.http.get(f"{WF}/processdefinition?_queryId=query-all-ids", headers=ADMIN)
    assert response.status_code == 200, response.body
    assert body(response) == {
        "result": [],
        "resultCount": 0,
        "pagedResultsCookie": None,
        "totalPagedResultsPolicy": "NONE",
        "totalPagedResults": -1,
        "remainingPagedResults": -1,
    }
    assert response.headers["Content-API-Version"] == "protocol=2.1,resource=1.0"


def test_exact_count_policy(client):
    response = client.http.get(
        f"{WF}/model?_queryFilter=true&_totalPagedResultsPolicy=EXACT", headers=ADMIN
    )
    data = body(response)
    assert data["totalPagedResultsPolicy"] == "EXACT" and data["totalPagedResults"] == 0


@pytest.mark.parametrize(
    "path",
    [
        "/nosuchresource",
        "/processinstance/abc/extra",
        "/job/deadletter/x/y/z",
        "",
        "/processdefinition/a:1:b/taskdefinition/t/more",
    ],
)
def test_unknown_paths_are_crest_404(client, path):
    data = assert_envelope(client.http.get(f"{WF}{path}", headers=ADMIN), 404, "not found")
    assert data["reason"] == "Not Found"


def test_not_found_message_names_the_actual_path(client):
    data = assert_envelope(client.http.get(f"{WF}/nosuch/a%3Ab", headers=ADMIN), 404)
    assert data["message"] == "Resource 'workflow/nosuch/a:b' not found"


def test_unknown_path_still_needs_credentials(client):
    assert client.http.get(f"{WF}/nosuchresource").status_code == 401


def test_unsupported_operation_on_instance_is_501(client):
    response = client.http.request(
        "PATCH", f"{WF}/processdefinition/x:1:y", headers=ADMIN, body=b"[]"
    )
    assert_envelope(response, 501, "The PATCH operations are not supported")


@pytest.mark.parametrize(
    "method, verb", [("GET", "read"), ("PUT", "updated"), ("DELETE", "deleted")]
)
def test_unsupported_operation_on_collection_is_400(client, method, verb):
    headers = dict(ADMIN, **{"Content-Type": "application/json"})
    response = client.http.request(
        method, f"{WF}/model", headers=headers, body=b"{}" if method == "PUT" else b""
    )
    assert_envelope(response, 400, f"The resource collection workflow/model cannot be {verb}")


def test_malformed_json_is_400(client):
    headers = dict(ADMIN, **{"Content-Type": "application/json"})
    response = client.http.post(f"{WF}/model", headers=headers, body=b'{"name": ')
    assert_envelope(response, 400, "JSON")


def test_wrong_content_type_is_400_naming_it(client):
    headers = dict(ADMIN, **{"Content-Type": "text/csv"})
    response = client.http.post(f"{WF}/model", headers=headers, body=b"a,b")
    assert_envelope(response, 400, "text/csv")


def test_bad_filter_names_position(client):
    response = client.http.get(f"{WF}/model?_queryFilter=name%20eq", headers=ADMIN)
    assert_envelope(response, 400, "_queryFilter", "position")


def test_bad_sort_key_is_400(client):
    response = client.http.get(f"{WF}/model?_queryFilter=true&_sortKeys=", headers=ADMIN)
    assert_envelope(response, 400, "_sortKeys")


def test_bad_version_header_is_400(client):
    headers = dict(ADMIN, **{"Accept-API-Version": "resource=banana"})
    assert_envelope(client.http.get(f"{WF}/model?_queryFilter=true", headers=headers), 400)


def test_unsupported_resource_version_is_400_naming_supported(client):
    headers = dict(ADMIN, **{"Accept-API-Version": "resource=2.0"})
    assert_envelope(client.http.get(f"{WF}/model?_queryFilter=true", headers=headers), 400, "1.0")


def test_huge_page_size_is_400(client):
    response = client.http.get(
        f"{WF}/model?_queryFilter=true&_pageSize=99999999999999", headers=ADMIN
    )
    assert_envelope(response, 400, "_pageSize")


def test_mutually_exclusive_query_params(client):
    response = client.http.get(
        f"{WF}/model?_queryFilter=true&_queryId=query-all-ids", headers=ADMIN
    )
    assert_envelope(response, 400, "mutually exclusive")


def test_if_match_on_query_is_412(client):
    headers = dict(ADMIN, **{"If-Match": '"1"'})
    assert_envelope(client.http.get(f"{WF}/model?_queryFilter=true", headers=headers), 412)


def test_pretty_print(client):
    response = client.http.get(f"{WF}/model?_queryFilter=true&_prettyPrint=true", headers=ADMIN)
    assert b"\n" in response.body
    assert_envelope(
        client.http.get(f"{WF}/model?_queryFilter=true&_prettyPrint=maybe", headers=ADMIN),
        400,
        "_prettyPrint",
    )


def test_correlation_id_is_echoed(client):
    headers = dict(ADMIN, **{"X-Request-Id": "abc-123"})
    response = client.http.get(f"{WF}/model?_queryFilter=true", headers=headers)
    assert response.headers["X-Request-Id"] == "abc-123"


def test_unexpected_exception_is_a_bare_500(client, monkeypatch):
    from chalicelib.api import model

    def explode(self, ctx):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(model.Models, "query", explode, raising=False)
    response = client.http.get(f"{WF}/model?_queryFilter=true", headers=ADMIN)
    data = assert_envelope(response, 500)
    assert "secret internals" not in response.body.decode()
    assert "correlation id" in data["message"]
