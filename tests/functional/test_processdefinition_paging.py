"""``processdefinition`` queries ignore ``_pageSize`` and ``_pagedResultsOffset`` (DECISIONS.md,
revised): every match comes back up to the server maximum (``WORKFLOW_MAX_PAGE_SIZE``, here 2),
then a cookie continues, over moto."""

from __future__ import annotations

import pytest

from tests.support.deployments import deploy_simple as deploy
from tests.support.env import TEST_ENV
from tests.support.rest import ADMIN, WF, expect

MAX_PAGE = 2


@pytest.fixture
def settings():
    """The test settings with a server maximum page of ``MAX_PAGE`` items."""
    from chalicelib.settings import Settings

    return Settings.from_env(dict(TEST_ENV, WORKFLOW_MAX_PAGE_SIZE=str(MAX_PAGE)))


def _get(client, params: str) -> dict:
    return expect(client.http.get(f"{WF}/processdefinition?{params}", headers=ADMIN), 200)


@pytest.mark.parametrize(
    "params",
    [
        "_queryFilter=true",
        "_queryFilter=true&_pageSize=1",
        "_queryId=filtered-query&_pageSize=10",
        "_queryId=query-all-ids&_pageSize=1&_pagedResultsOffset=1",
        "_queryFilter=true&_sortKeys=key&_pageSize=1",
    ],
)
def test_pages_of_the_server_maximum_then_cookies_whatever_the_page_size(client, container, params):
    made = [deploy(container, key).definition_ids[0] for key in ("a1", "a2", "a3", "a4", "a5")]
    first = _get(client, params)
    assert first["resultCount"] == MAX_PAGE and first["pagedResultsCookie"]
    seen = [item["_id"] for item in first["result"]]
    cookie = first["pagedResultsCookie"]
    while cookie:
        following = _get(
            client, f"{params.split('&_pagedResultsOffset')[0]}&_pagedResultsCookie={cookie}"
        )
        seen += [item["_id"] for item in following["result"]]
        cookie = following["pagedResultsCookie"]
    assert sorted(seen) == sorted(made) and len(seen) == len(made)
