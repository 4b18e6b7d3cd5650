"""`local/server.py`: the local server's own answers (over HTTP: `tests/e2e/test_hostile_edge.py`)."""

from __future__ import annotations

import json

import pytest

from chalicelib.local.server import MAX_HEADER_BYTES, _logged_path, envelope


@pytest.mark.parametrize(
    "code, reason",
    [
        (400, "Bad Request"),
        (404, "Not Found"),
        (414, "Request-URI Too Large"),
        (431, "Request Header Fields Too Large"),
        (501, "Not Implemented"),
    ],
)
def test_envelopes_are_crest_with_fixed_messages(code, reason):
    body = json.loads(envelope(code))
    assert body["code"] == code and body["reason"] == reason and body["message"]
    assert set(body) == {"code", "reason", "message"}


def test_the_431_names_the_limit():
    assert str(MAX_HEADER_BYTES) in json.loads(envelope(431))["message"]


@pytest.mark.parametrize(
    "target, logged",
    [
        ("/a/b?password=secret", "/a/b"),
        ("/caf%C3%A9", "/café"),
        ("/a%0Ab", "/a?b"),
        ("//[bad", "?"),
        ("", "-"),
        ("/" + "x" * 500, "/" + "x" * 199 + "..."),
    ],
)
def test_logged_paths_drop_the_query_and_stay_printable(target, logged):
    assert _logged_path(target) == logged
