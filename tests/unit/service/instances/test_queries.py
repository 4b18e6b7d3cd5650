"""Which variable equality a ``processinstance`` query's variable index reads, and the texts
it compares (``service/instances/queries.py``)."""

from __future__ import annotations

import pytest

from chalicelib.crest.request import parse_request
from chalicelib.service.instances.queries import _as_text, _filter_texts, _variable_term


@pytest.mark.parametrize(
    ("value", "texts"),
    [
        (7, ("7", "7.0")),
        (7.0, ("7.0", "7")),
        (7.5, ("7.5",)),
        (10**16, ("10000000000000000", "1e+16")),
        (2**53 + 1, ("9007199254740993",)),  # no float equals it
        (True, ("true",)),
        ("7", ("7",)),
    ],
)
def test_a_filter_value_matches_every_spelling_equal_to_it(value, texts):
    assert _filter_texts(value) == texts
    assert _as_text(value) == texts[0]


def _request(query: str):
    params = dict(part.split("=", 1) for part in query.split("&"))
    return parse_request("GET", params)


def test_the_variable_term_of_a_query():
    term = _variable_term
    assert term(_request("_queryId=filtered-query&var-n=7&var-c=red")) == ("n", ("7",))
    assert term(_request("_queryId=filtered-query&var-=7")) is None
    assert term(_request("_queryId=filtered-query&businessKey=x")) is None
    assert term(_request("_queryFilter=processVariables/n eq 7 and x eq 1")) == (
        "n",
        ("7", "7.0"),
    )
    assert term(_request("_queryFilter=processVariables/n eq 7 or x eq 1")) is None
    assert term(_request("_queryFilter=processVariables/n gt 7")) is None
    assert term(_request("_queryFilter=processVariables/a/b eq 7")) is None
