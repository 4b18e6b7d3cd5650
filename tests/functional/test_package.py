"""``chalice package`` of the dev stage, offline: the template API Gateway and SAM would get."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from tests.support.env import REPO
from tests.support.packaging import dev_template, packaged_dev
from tests.support.shipping import modules_only_tests_use


@pytest.fixture(scope="module")
def packaged() -> Path:
    """The output directory of the package: ``sam.json`` and ``deployment.zip``."""
    packaged = packaged_dev()
    assert (packaged / "deployment.zip").is_file()
    return packaged


@pytest.fixture(scope="module")
def sam(packaged) -> dict:
    return dev_template()


@pytest.fixture(scope="module")
def zipped(packaged) -> list[str]:
    """The names in the deployment zip."""
    with zipfile.ZipFile(packaged / "deployment.zip") as archive:
        return archive.namelist()


def test_script_sandbox_javascript_is_packaged(zipped):
    """The sandbox reads its preludes from the .js files beside its modules."""
    sources = REPO / "chalicelib" / "engine" / "scripting"
    expected = sorted(f"chalicelib/engine/scripting/{p.name}" for p in sources.glob("*.js"))
    assert len(expected) >= 3, expected
    assert set(expected) <= set(zipped)


def test_no_benchmark_or_test_code_is_packaged(zipped):
    """The Lambda package holds the service only: benchmark workloads and test helpers live
    in bench/ and tests/, outside chalicelib/, and every packaged module is one the handlers
    or entry points load (tests/support/shipping.py)."""
    shipped = [n for n in zipped if n.endswith(".py")]
    assert "app.py" in shipped
    assert "chalicelib/engine/scripting/__init__.py" in shipped
    offending = [
        n
        for n in shipped
        if n.split("/")[0] in ("bench", "tests")
        or PurePosixPath(n).name in ("conftest.py", "workloads.py")
        or PurePosixPath(n).name.startswith("test_")
    ]
    assert not offending
    only_tests = {m.replace(".", "/") for m in modules_only_tests_use()}
    assert not [n for n in shipped if n.removesuffix(".py").removesuffix("/__init__") in only_tests]


def swagger_paths(sam: dict) -> list[str]:
    api = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    return list(api["paths"])


def test_every_route_of_the_table_is_packaged(sam):
    paths = set(swagger_paths(sam))
    for path in [
        "/openidm/workflow/execution",
        "/openidm/workflow/job/deadletter/{sub}",
        "/openidm/workflow/job/{id}",
        "/openidm/workflow/model/{id}",
        "/openidm/workflow/processdefinition/{id}/taskdefinition/{subid}",
        "/openidm/workflow/processinstance/history/{sub}",
        "/openidm/workflow/taskinstance/{id}",
        "/openidm/workflow/{resource}",
    ]:
        assert path in paths, path


def test_one_variable_name_per_level(sam):
    """API Gateway rejects sibling path variables with different names; SAM does not check."""
    variables: dict[str, set[str]] = {}
    for path in swagger_paths(sam):
        parent, _, last = path.rstrip("/").rpartition("/")
        if last.startswith("{"):
            variables.setdefault(parent, set()).add(last)
    clashes = {parent: names for parent, names in variables.items() if len(names) > 1}
    assert not clashes


def test_jobs_queue_reports_partial_batch_failures(sam):
    function = sam["Resources"]["OnJobMessage"]
    event = function["Properties"]["Events"]["OnJobMessageSqsEventSource"]["Properties"]
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # a reference, so a first stack create makes the queue before the event source mapping
    assert event["Queue"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]}
    queue = sam["Resources"]["JobsQueue"]["Properties"]
    assert queue["QueueName"] == "workflow-dev-jobs"
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 1


def test_tables_with_indexes_and_ttl(sam):
    runtime = sam["Resources"]["RuntimeTable"]["Properties"]
    assert runtime["TableName"] == "workflow-dev-runtime"
    assert {i["IndexName"] for i in runtime["GlobalSecondaryIndexes"]} >= {"dueShard-dueAt"}
    assert runtime["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    for name in ("RepositoryTable", "HistoryTable", "DeadletterTable"):
        assert sam["Resources"][name]["Type"] == "AWS::DynamoDB::Table"


def test_runtime_table_has_the_candidate_index(sam):
    runtime = sam["Resources"]["RuntimeTable"]["Properties"]
    [index] = [i for i in runtime["GlobalSecondaryIndexes"] if i["IndexName"] == "candidate-sort"]
    assert index["KeySchema"] == [
        {"AttributeName": "candidate", "KeyType": "HASH"},
        {"AttributeName": "sort", "KeyType": "RANGE"},
    ]
    assert {"AttributeName": "candidate", "AttributeType": "S"} in runtime["AttributeDefinitions"]


def test_schedule_and_unknown_path_response(sam):
    sweep = sam["Resources"]["SweepDueJobs"]["Properties"]["Events"]
    assert any("rate(1 minute)" in json.dumps(e) for e in sweep.values())
    # inside the API definition, so the deployment that serves the API carries it
    body = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    response = body["x-amazon-apigateway-gateway-responses"]["MISSING_AUTHENTICATION_TOKEN"]
    assert response["statusCode"] == "404"
    assert json.loads(response["responseTemplates"]["application/json"])["code"] == 404


def test_runtime_table_has_the_lookup_index(sam):
    runtime = sam["Resources"]["RuntimeTable"]["Properties"]
    [index] = [i for i in runtime["GlobalSecondaryIndexes"] if i["IndexName"] == "lookup-sort"]
    assert index["KeySchema"] == [
        {"AttributeName": "lookup", "KeyType": "HASH"},
        {"AttributeName": "sort", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert {"AttributeName": "lookup", "AttributeType": "S"} in runtime["AttributeDefinitions"]
