"""The jobs-queue handler: the partial batch response (the message itself:
``tests/unit/messaging/test_job_message.py``)."""

from __future__ import annotations

import json

from chalicelib.messaging.job_message import encode
from chalicelib.workers.jobs import handle_batch


def record(message_id: str, body) -> dict:
    return {"messageId": message_id, "body": body if isinstance(body, str) else json.dumps(body)}


def test_batch_reports_only_failed_records():
    ran = []

    def run(job_id: str) -> str:
        ran.append(job_id)
        if job_id == "bad":
            raise RuntimeError("job failed")
        return "executed"

    result = handle_batch(
        [
            record("m1", encode("ok")),
            record("m2", "garbage"),
            record("m3", encode("bad")),
            record("m4", encode("ok2")),
        ],
        run,
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}
    assert ran == ["ok", "bad", "ok2"]


def test_empty_batch_has_no_failures():
    assert handle_batch([], lambda job_id: "executed") == {"batchItemFailures": []}
