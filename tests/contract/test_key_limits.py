"""DynamoDB's key size limits on both stores: moto does not enforce them, so the stores do
(``chalicelib/storage/keys.py``), before anything is sent."""

from __future__ import annotations

import pytest

from chalicelib.storage.keys import KeyTooLarge
from chalicelib.storage.ports import Index, Item, Put, Table


def test_an_index_key_over_the_limit_is_refused_and_nothing_written(store):
    good = Item(pk="pi-1", sk="task#1", kind="task", index={"assignee": "alice", "sort": "1"})
    bad = Item(pk="pi-1", sk="task#2", kind="task", index={"assignee": "u" * 5000, "sort": "2"})
    with pytest.raises(KeyTooLarge) as caught:
        store.transact([Put(Table.RUNTIME, good), Put(Table.RUNTIME, bad)])
    assert caught.value.detail["attribute"] == "assignee"
    assert store.query(Table.RUNTIME, "pi-1").items == []


def test_reads_of_over_long_keys_answer_nothing(store):
    store.transact([Put(Table.RUNTIME, Item(pk="pi-1", sk="s", kind="k", index={"sort": "1"}))])
    assert store.get(Table.RUNTIME, "i" * 5000, "s") is None
    assert store.get(Table.RUNTIME, "pi-1", "s" * 5000) is None
    assert store.query(Table.RUNTIME, "i" * 5000).items == []
    page = store.query_index(Table.RUNTIME, Index.CANDIDATE_SORT, "u#" + "c" * 5000)
    assert page.items == [] and page.next_token is None
