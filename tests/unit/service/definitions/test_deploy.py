"""`service/definitions`: deploy (versions, duplicates, item layout) and the definition cache.

Memory store. Eight threads deploying one key at once over moto:
``tests/functional/test_deploy_race.py``.
"""

from __future__ import annotations

import pytest

from chalicelib.errors import BadRequest, NotFound
from chalicelib.service.definitions import cache as definitions
from chalicelib.service.definitions import deploy as deployments
from chalicelib.service.repositories import definitions as repo
from chalicelib.storage.ports import Table
from tests.support.deployments import deploy_simple
from tests.support.rest import simple_bpmn


def test_duplicate_is_per_source_and_compares_resources(container):
    first = deploy_simple(container, resources={"form.js": "a"})
    assert deploy_simple(container, resources={"form.js": "a"}).duplicate is True
    other_source = deploy_simple(container, source="elsewhere", resources={"form.js": "a"})
    assert other_source.duplicate is False and other_source.definition_ids[0].startswith("alpha:2:")
    changed = deploy_simple(container, resources={"form.js": "b"})
    assert changed.duplicate is False and changed.definition_ids[0].startswith("alpha:3:")
    back = deploy_simple(container, resources={"form.js": "a"})
    assert back.duplicate is False, "only the latest deployment of a source is compared"
    assert first.deployment_id != back.deployment_id


def test_layout_one_collection_per_deployment(container):
    result = deploy_simple(container, resources={"form.js": "x", "img.png": b"\x89PNG\x00\xff"})
    loaded = deployments.load_deployment(container.store, result.deployment_id)
    assert set(loaded.definitions) == set(result.definition_ids)
    assert set(loaded.resources) == {"alpha.bpmn20.xml", "form.js", "img.png"}
    assert loaded.resource_text("img.png") is None and "base64" in loaded.resources["img.png"].data
    definition_item = loaded.definitions[result.definition_ids[0]]
    assert definition_item.index["sort"] == f"alpha:{1:010d}:{result.deployment_id}"
    assert loaded.header.data["source"] == "test"


def test_diagram_resource_name_follows_flowable_naming(container):
    result = deploy_simple(container, resources={"alpha.alpha.png": b"\x89PNG"})
    record = definitions.get_definition(container, result.definition_ids[0]).record
    assert record["processDiagramResourceName"] == "alpha.alpha.png"
    assert deploy_simple(container, key="beta").definition_ids  # no image: null
    beta = definitions.latest_definition(container, "beta").record
    assert beta["processDiagramResourceName"] is None


def test_latest_definition_and_cache(container):
    deploy_simple(container, source="a")
    second = deploy_simple(container, source="b")
    latest = definitions.latest_definition(container, "alpha")
    assert latest.id == second.definition_ids[0] and latest.process.key == "alpha"
    assert definitions.get_definition(container, latest.id) is latest
    with pytest.raises(NotFound):
        definitions.latest_definition(container, "alp")


def test_invalid_and_clashing_deployments_are_refused(container):
    with pytest.raises(deployments.InvalidDeployment) as caught:
        deployments.deploy(
            container,
            source="x",
            name="x",
            bpmn={"a.bpmn": simple_bpmn(key="same"), "b.bpmn": simple_bpmn(key="same")},
        )
    assert caught.value.detail["errors"][0]["problem"] == "duplicate-process-key"
    with pytest.raises(BadRequest, match="clashes"):
        deployments.deploy(
            container,
            source="x",
            name="x",
            bpmn={"a.bpmn": simple_bpmn()},
            resources={"a.bpmn": "x"},
        )
    with pytest.raises(BadRequest, match="at least one BPMN"):
        deployments.deploy(container, source="x", name="x", bpmn={})


@pytest.mark.parametrize("name", ["", "/abs", "a/../b", "x#chunk#1", "a" * 600])
def test_bad_resource_names(name):
    with pytest.raises(BadRequest):
        deployments.check_resource_name(name)


def test_content_hash_is_order_independent_and_content_sensitive():
    one = deployments.content_hash({"a": "x"}, {"f": "1", "g": b"2"})
    assert one == deployments.content_hash({"a": "x"}, {"g": b"2", "f": "1"})
    assert one != deployments.content_hash({"a": "x"}, {"f": "1", "g": b"3"})
    assert deployments.content_hash({"a": "xy"}, {}) != deployments.content_hash({"ax": "y"}, {})


@pytest.mark.parametrize(
    "text, expected",
    [
        ("k:1:d", ("k", 1, "d")),
        ("a:b:1:d", ("a:b", 1, "d")),
        ("k:x:d", None),
        ("k:1:", None),
        ("nope", None),
        (":1:d", None),
    ],
)
def test_split_definition_id(text, expected):
    assert repo.split_definition_id(text) == expected


def test_batches_respect_the_transaction_limit():
    from chalicelib.storage.ports import Delete

    first = [Delete(Table.REPOSITORY, "p", f"d{i}") for i in range(3)]
    rest = [Delete(Table.REPOSITORY, "p", f"r{i}", chunks=4) for i in range(40)]
    batches = deployments._batches(first, rest)
    assert batches[0][:3] == first
    assert all(sum(1 + w.chunks for w in batch) <= 100 for batch in batches)
    assert sum(len(batch) for batch in batches) == 43
