"""Response helpers: envelopes, key order, standard errors, JSON text, module purity."""

import ast
import json
from decimal import Decimal

import pytest

from chalicelib.api.errors import error_envelope, status_of
from chalicelib.crest.enums import RequestType
from chalicelib.crest.responses import (
    CONTENT_API_VERSION,
    not_supported_on_collection,
    not_supported_on_instance,
    order_keys,
    query_envelope,
    render_json,
    resource_not_found,
)
from chalicelib.errors import BadRequest, NotFound, NotSupported
from tests.support.env import REPO


def test_query_envelope_shape_and_order():
    body = query_envelope([{"b": 1, "_id": "x"}])
    assert list(body) == [
        "result",
        "resultCount",
        "pagedResultsCookie",
        "totalPagedResultsPolicy",
        "totalPagedResults",
        "remainingPagedResults",
    ]
    assert body == {
        "result": [{"_id": "x", "b": 1}],
        "resultCount": 1,
        "pagedResultsCookie": None,
        "totalPagedResultsPolicy": "NONE",
        "totalPagedResults": -1,
        "remainingPagedResults": -1,
    }
    assert list(body["result"][0]) == ["_id", "b"]


def test_query_envelope_with_count_and_cookie():
    body = query_envelope([], "c00kie", 0)
    assert (
        body["pagedResultsCookie"],
        body["totalPagedResultsPolicy"],
        body["totalPagedResults"],
        body["resultCount"],
    ) == ("c00kie", "EXACT", 0, 0)


def test_order_keys():
    ordered = order_keys({"z": 1, "_rev": "2", "a": 3, "_id": "i"})
    assert list(ordered) == ["_id", "_rev", "z", "a"]
    assert list(order_keys({"z": 1, "_id": "i"})) == ["_id", "z"]
    assert order_keys({}) == {}


def test_not_supported_on_instance():
    exc = not_supported_on_instance(RequestType.PATCH)
    assert isinstance(exc, NotSupported) and status_of(exc) == 501
    assert exc.message == "The PATCH operations are not supported"
    assert not_supported_on_instance("delete").message == "The DELETE operations are not supported"


@pytest.mark.parametrize(
    "op, verb",
    [
        (RequestType.READ, "read"),
        ("update", "updated"),
        (RequestType.DELETE, "deleted"),
        ("PATCH", "patched"),
    ],
)
def test_not_supported_on_collection(op, verb):
    exc = not_supported_on_collection("workflow/processinstance", op)
    assert isinstance(exc, BadRequest) and status_of(exc) == 400
    assert exc.message == f"The resource collection workflow/processinstance cannot be {verb}"


def test_not_supported_on_collection_refuses_collection_operations():
    with pytest.raises(ValueError):
        not_supported_on_collection("x", RequestType.QUERY)


def test_resource_not_found():
    exc = resource_not_found("workflow/taskinstance/42")
    assert isinstance(exc, NotFound)
    assert error_envelope(exc) == {
        "code": 404,
        "reason": "Not Found",
        "message": "Resource 'workflow/taskinstance/42' not found",
    }


def test_content_api_version():
    assert CONTENT_API_VERSION == "protocol=2.1,resource=1.0"


def test_render_json():
    body = {"_id": "é", "n": [1, Decimal("2"), Decimal("2.5")]}
    assert render_json(body) == '{"_id":"é","n":[1,2,2.5]}'
    pretty = render_json(body, pretty=True)
    assert "\n  " in pretty and json.loads(pretty) == {"_id": "é", "n": [1, 2, 2.5]}
    with pytest.raises(TypeError):
        render_json({"x": object()})


def test_crest_imports_only_the_standard_library_and_errors():
    crest = REPO / "chalicelib" / "crest"
    forbidden = {"boto3", "botocore", "pynamodb", "chalice", "moto", "lxml", "lark"}
    for source in crest.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level == 2:  # from ..x import: only chalicelib.errors and .limits (pure)
                    assert node.module in ("errors", "limits"), (
                        f"{source.name} imports ..{node.module}"
                    )
                names = [node.module or ""] if node.level == 0 else []
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{source.name} imports {name}"
                assert not name.startswith("chalicelib"), f"{source.name} imports {name}"
