"""The real launcher on a free port, checked over HTTP (what ``make run`` serves).

One launcher per module (starting moto and the threads takes a moment); the launcher runs in
this process so the test can also put a message on its in-process queue and watch the worker
thread hand it to the app's SQS handler.
"""

from __future__ import annotations

import pytest

from tests.support.launcher import (
    WF,
    call,
    free_port,
    launched_process,
    moto_server,
    running_launcher,
    wait_until,
)
from tests.support.rest import ADMIN, ANONYMOUS


@pytest.fixture(scope="module")
def launcher():
    """The launcher without ``workflow/`` deployed, ticking every 0.2 s."""
    with running_launcher(deploy_workflows=False, WORKFLOW_LOCAL_TICK_SECONDS="0.2") as running:
        yield running


def test_401_without_credentials(launcher):
    status, _, data = call(f"{launcher.url}{WF}/processdefinition?_queryFilter=true")
    assert status == 401 and data["message"] == "Access Denied"


def test_403_for_anonymous(launcher):
    status, _, data = call(
        f"{launcher.url}{WF}/processdefinition?_queryFilter=true", headers=ANONYMOUS
    )
    assert status == 403 and data["reason"] == "Forbidden"


def test_crest_404_for_unknown_path(launcher):
    status, _, data = call(f"{launcher.url}{WF}/nosuch/thing", headers=ADMIN)
    assert status == 404 and data["code"] == 404 and "not found" in data["message"]


def test_seed_query_returns_envelope(launcher):
    status, headers, data = call(
        f"{launcher.url}{WF}/processdefinition?_queryId=query-all-ids", headers=ADMIN
    )
    assert status == 200
    assert data["resultCount"] == len(data["result"])
    assert data["pagedResultsCookie"] is None and data["totalPagedResults"] == -1
    assert headers["Content-API-Version"] == "protocol=2.1,resource=1.0"


def test_message_reaches_sqs_handler(launcher):
    from chalicelib.bootstrap import get_container
    from chalicelib.messaging.job_message import encode

    container = get_container()
    before = launcher.stats.delivered
    container.publisher.send(container.settings.jobs_queue, encode("no-such-job"))
    assert wait_until(lambda: launcher.stats.delivered > before), "worker never delivered"


def test_undecodable_message_is_returned_to_the_queue(launcher):
    from chalicelib.bootstrap import get_container

    container = get_container()
    before = launcher.stats.failed
    container.publisher.send(container.settings.jobs_queue, {"type": "bogus"})
    assert wait_until(lambda: launcher.stats.failed > before), "failure never reported"


def test_scheduled_handler_ticks(launcher):
    before = launcher.stats.ticks
    assert wait_until(lambda: launcher.stats.ticks >= before + 2, timeout=10)
    assert launcher.stats.errors == 0


def test_make_run_entry_point_serves_and_logs(tmp_path):
    """``python -m chalicelib.local`` as ``make run`` starts it: says where, logs requests."""
    port = free_port()
    log_path = tmp_path / "run.log"
    with launched_process(log_path, PORT=str(port), HOST="127.0.0.1"):
        assert f"http://127.0.0.1:{port}" in log_path.read_text()
        # the test environment carries AWS credentials: they alone never switch the backend
        assert '"backend": "embedded moto"' in log_path.read_text()
        status, _, data = call(
            f"http://127.0.0.1:{port}{WF}/processdefinition?_queryId=query-all-ids", headers=ADMIN
        )
        assert status == 200 and "result" in data
        assert wait_until(lambda: "/processdefinition" in log_path.read_text(), timeout=5)


def test_aws_endpoint_url_points_the_launcher_at_a_moto_server(tmp_path):
    """``AWS_ENDPOINT_URL`` (a moto server here) replaces the embedded backend."""
    import botocore.session

    log_path = tmp_path / "run.log"
    with moto_server() as endpoint:
        port = free_port()  # picked while moto listens: never moto's port
        with launched_process(log_path, PORT=str(port), AWS_ENDPOINT_URL=endpoint):
            assert f"endpoint {endpoint}" in log_path.read_text()
            status, _, data = call(
                f"http://127.0.0.1:{port}{WF}/model?_queryFilter=true", headers=ADMIN
            )
            assert status == 200 and data["result"] == []
            dynamodb = botocore.session.get_session().create_client(
                "dynamodb",
                region_name="us-east-1",
                endpoint_url=endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            tables = dynamodb.list_tables()["TableNames"]
            assert "workflow-local-runtime" in tables and "workflow-local-repository" in tables
