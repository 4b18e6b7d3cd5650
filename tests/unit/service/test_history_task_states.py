"""Which task state partition a ``taskinstance/history`` query reads, and when it selects by
that state alone (then the partition's count and an offset's skip serve it)
(``service/tasks/queries.py``)."""

from __future__ import annotations

import pytest

from chalicelib.crest.request import parse_request
from chalicelib.service.tasks.queries import _history_state, _history_state_only


def _request(query: str):
    params = dict(part.split("=", 1) for part in query.split("&"))
    return parse_request("GET", params)


@pytest.mark.parametrize(
    ("query", "state", "only"),
    [
        ("_queryFilter=endTime pr", True, True),
        ("_queryFilter=!(endTime pr)", False, False),
        ("_queryFilter=true and endTime pr", True, True),
        ("_queryFilter=endTime pr and assignee eq 'u'", True, None),
        ("_queryFilter=(name eq 'x' and !(endTime pr)) and priority gt 3", False, None),
        ("_queryFilter=endTime pr and !(endTime pr)", None, None),
        ("_queryFilter=endTime pr or name eq 'x'", None, None),
        ("_queryFilter=!(!(endTime pr))", None, None),
        ("_queryFilter=endTime/x pr", None, None),
        ("_queryFilter=startTime pr", None, None),
        ("_queryFilter=true", None, None),
        ("_queryId=filtered-query&finished=true", True, True),
        ("_queryId=filtered-query&unfinished=TRUE", False, False),
        ("_queryId=filtered-query&finished=true&assignee=u", True, None),
        ("_queryId=filtered-query&finished=true&unfinished=true", None, None),
        ("_queryId=filtered-query&finished=false", None, None),
        ("_queryId=filtered-query&finished=true&unfinished=false", True, None),
        ("_queryId=query-all-ids", None, None),
    ],
)
def test_the_state_a_query_reads_and_whether_it_selects_by_it_alone(query, state, only):
    request = _request(query)
    assert _history_state(request) is state
    assert _history_state_only(request) is only
