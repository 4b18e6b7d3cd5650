"""Decoding jobs-queue messages and the partial batch response."""

from __future__ import annotations

import json

import pytest

from chalicelib.workers.jobs import MessageError, decode, encode, handle_batch


def record(message_id: str, body) -> dict:
    return {"messageId": message_id, "body": body if isinstance(body, str) else json.dumps(body)}


def test_encode_decode_round_trip():
    assert decode(json.dumps(encode("job-1"))).job_id == "job-1"


@pytest.mark.parametrize(
    "body, problem",
    [
        ("not json", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"type": "x"}', "unknown"),
        ('{"type": "job"}', "jobId"),
        ('{"type": "job", "jobId": 7}', "jobId"),
    ],
)
def test_decode_names_the_problem(body, problem):
    with pytest.raises(MessageError, match=problem):
        decode(body)


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
