"""The OpenAPI description against the routes Chalice registers and the seed's table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import app as application
from chalicelib.api import openapi
from chalicelib.api.routing import RESOURCES, WORKFLOW

SEED = Path(__file__).resolve().parents[4] / "shared" / "spec" / "rest-workflows-seed.md"


def _route(key: str) -> str:
    return key.split("#", 1)[0]


def test_every_registered_route_is_documented_and_nothing_else():
    document = openapi.describe()
    documented = {_route(key) for key in document["paths"]}
    registered = {WORKFLOW + path for path in RESOURCES}
    assert registered <= set(application.app.routes)
    assert documented == registered


def test_one_root_path():
    from chalicelib.api import http, routing

    assert openapi.WORKFLOW == routing.WORKFLOW == http.WORKFLOW_ROOT


def test_fifty_three_operations_numbered_once():
    ops = openapi.OPERATIONS
    assert [op.number for op in ops] == list(range(1, 54))
    assert len({(op.method, op.path, op.kind, op.detail) for op in ops}) == 53
    document = openapi.describe()
    count = sum(len(item) for key, item in document["paths"].items() if not key.endswith("#_api"))
    assert count == 53


def test_each_operation_is_one_its_resource_defines():
    for op in openapi.OPERATIONS:
        resource = RESOURCES[op.path]
        if op.kind == "action":
            assert op.detail in resource.actions(), op
        else:
            assert callable(getattr(resource, op.kind, None)), op


def _seed_rows(filters: dict[str, list[str]] | None = None) -> set[tuple[str, str, str]]:
    """(method, path, action or query) of each row; ``filters`` gets each filtered-query's
    parameters, by path."""
    rows = set()
    listing: list[str] | None = None
    for line in SEED.read_text().splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if listing is not None:
            listing += re.findall(r"\* `([^`]+)`", line)
        if len(cells) < 3 or "openidm/workflow" not in cells[1]:
            continue
        uri = cells[1].replace("\\", "").lstrip("/")
        path, _, query = uri.partition("?")
        path = re.sub(r"/(id|procdefid)(?=/|$)", "/{}", path[len("openidm/workflow") :])
        detail = ""
        if query.startswith("_action="):
            detail = query.split("=", 1)[1]
        elif query.startswith("_queryFilter"):
            detail = openapi.QUERY_FILTER
        elif query.startswith("_queryId="):
            detail = query.split("=", 1)[1].split("&", 1)[0]
        rows.add((cells[2], path, detail))
        listing = None
        if detail == "filtered-query" and filters is not None:
            listing = filters.setdefault(path, [])
            listing += re.findall(r"\* `([^`]+)`", line)
    return rows


@pytest.mark.skipif(not SEED.exists(), reason="the seed's table is beside the checkout")
def test_operations_are_the_seed_table():
    ours = {(op.method, re.sub(r"\{\w+\}", "{}", op.path), op.detail) for op in openapi.OPERATIONS}
    assert ours == _seed_rows()


@pytest.mark.skipif(not SEED.exists(), reason="the seed's table is beside the checkout")
def test_filter_parameters_are_the_seed_table_s():
    seed: dict[str, list[str]] = {}
    _seed_rows(seed)
    assert {path: tuple(names) for path, names in seed.items()} == openapi.FILTERS
    document = openapi.describe()
    tasks = document["paths"][f"{WORKFLOW}/taskinstance#_query_id_filtered-query"]["get"]
    names = {p.get("name") or p["$ref"].rsplit("/", 1)[1] for p in tasks["parameters"]}
    assert {"taskCandidateGroup", "unassigned", "_queryId", "_pageSize"} <= names


def test_error_envelope_and_parameters():
    document = openapi.describe()
    assert document["openapi"].startswith("3.")
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "reason", "message"]
    claim = document["paths"][f"{WORKFLOW}/taskinstance/{{id}}#_action_claim"]["post"]
    names = {p.get("name") for p in claim["parameters"]}
    assert {"id", "_action"} <= names
    assert claim["responses"]["409"] == {"$ref": "#/components/responses/Error"}
    assert "userId" in claim["requestBody"]["content"]["application/json"]["schema"]["properties"]
    query = document["paths"][f"{WORKFLOW}/processinstance#_query_id_filtered-query"]["get"]
    assert any(p.get("name") == "_queryId" for p in query["parameters"])


def test_the_document_is_valid_openapi():
    import openapi_spec_validator  # a pinned dev dependency (requirements-dev.txt)

    openapi_spec_validator.validate(openapi.describe())
