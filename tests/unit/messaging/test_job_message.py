"""The jobs-queue message: encoding, decoding, and the problems decoding names."""

from __future__ import annotations

import json

import pytest

from chalicelib.messaging.job_message import (
    MESSAGE_VERSION,
    JobMessage,
    MessageError,
    decode,
    encode,
)


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


def test_the_body_names_the_job_and_the_version():
    assert encode("job-1") == {"type": "job", "jobId": "job-1", "v": MESSAGE_VERSION}
    assert decode(json.dumps(encode("job-2"))) == JobMessage("job-2")
