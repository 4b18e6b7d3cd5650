"""DynamoDB's key size limits (``chalicelib/storage/keys.py``), enforced alike by both stores."""

from __future__ import annotations

import pytest

from chalicelib.api.errors import status_of
from chalicelib.storage import codec
from chalicelib.storage.keys import (
    MAX_PARTITION_KEY_BYTES,
    MAX_SORT_KEY_BYTES,
    KeyTooLarge,
    check_item,
    index_value_fits,
    key_fits,
)
from chalicelib.storage.memory import MemoryItemStore
from chalicelib.storage.ports import Index, Item, Put, Table


def test_keys_within_the_limits_pass():
    check_item(Table.RUNTIME, "p" * 2048, "s" * 1000, {"assignee": "a" * 2048, "sort": "x" * 1024})


@pytest.mark.parametrize(
    "pk, sk, index, attribute",
    [
        ("p" * 2049, "s", {}, "pk"),
        ("p", "s" * 1020, {}, "sk"),  # room is kept for a chunk item's suffix
        ("p", "s", {"assignee": "a" * 2049}, "assignee"),  # a partition key of its index
        ("p", "s", {"sort": "x" * 1025}, "sort"),  # a sort key of its index
        ("p", "s", {"candidate": "é" * 1025}, "candidate"),  # UTF-8 bytes, not characters
    ],
)
def test_a_key_over_dynamodb_s_limit_is_refused_naming_the_attribute(pk, sk, index, attribute):
    with pytest.raises(KeyTooLarge) as caught:
        check_item(Table.RUNTIME, pk, sk, index)
    assert caught.value.detail["attribute"] == attribute
    assert status_of(caught.value) == 400
    assert "DynamoDB allows" in caught.value.message


def test_the_codec_refuses_such_an_item_before_anything_is_sent():
    item = Item(pk="pk", sk="task#1", kind="task", index={"assignee": "u" * 3000})
    with pytest.raises(KeyTooLarge):
        codec.plan([Put(Table.RUNTIME, item)])


def test_reads_of_keys_no_write_could_make_match_nothing():
    assert key_fits("p" * MAX_PARTITION_KEY_BYTES, "s" * MAX_SORT_KEY_BYTES)
    assert not key_fits("p" * 3000) and not key_fits("p", "s" * 1025)
    assert not index_value_fits(Index.ASSIGNEE_SORT, "a" * 3000)
    store = MemoryItemStore()
    store.transact([Put(Table.RUNTIME, Item(pk="pk", sk="sk", kind="k"))])
    assert store.get(Table.RUNTIME, "p" * 3000, "sk") is None
    assert store.query(Table.RUNTIME, "p" * 3000).items == []
    assert store.query_index(Table.RUNTIME, Index.ASSIGNEE_SORT, "a" * 3000).items == []
    with pytest.raises(KeyTooLarge):
        store.transact([Put(Table.RUNTIME, Item(pk="pk", sk="s" * 2000, kind="k"))])
    assert store.get(Table.RUNTIME, "pk", "sk") is not None
