"""The record codec and transaction planner shared by both stores."""

from __future__ import annotations

import base64
import os

import pytest

from chalicelib.api.errors import status_of
from chalicelib.storage import codec
from chalicelib.storage.codec import Op
from chalicelib.storage.ports import (
    Delete,
    DuplicateWrite,
    InvalidItem,
    InvalidPageToken,
    Item,
    MustNotExist,
    Put,
    SetVersion,
    Table,
    TransactionTooLarge,
    VersionIs,
    decode_token,
    encode_token,
)

R = Table.RUNTIME


def noise(compressed_bytes: int) -> str:
    """Text that zlib cannot shrink below about ``compressed_bytes``."""
    return base64.b64encode(os.urandom(compressed_bytes)).decode()


def test_small_item_is_one_compressed_record():
    item = Item("p", "s", "var", {"text": "a" * 10_000}, {"sort": "x"}, ttl=5, version=2)
    (record,) = codec.encode(R, item)
    assert len(record["body"]) < 200 and record["expires"] == 5 and record["version"] == 2
    assert record["schema_version"] == 1 and record["sort"] == "x" and "chunks" not in record
    assert codec.assemble([record], lambda p, s: []) == [item]


def test_large_item_is_split_into_chunks_under_the_item_limit():
    item = Item("p", "s", "var", {"blob": noise(1_000_000)})
    records = codec.encode(R, item)
    assert len(records) == 3 and records[0]["chunks"] == 2
    assert [r["sk"] for r in records[1:]] == ["s#chunk#0001", "s#chunk#0002"]
    assert all(codec.record_size(r) < 400_000 for r in records)
    assert all("sort" not in r for r in records[1:])
    # Reassembled from the run, or fetched when a page cut the chunks off.
    assert codec.assemble(records, lambda p, s: []) == [item]
    assert codec.assemble(records[:1], lambda p, s: records[1:]) == [item]
    assert codec.assemble(records[2:], lambda p, s: []) == []  # orphan chunks are skipped
    with pytest.raises(LookupError):
        codec.assemble(records[:2], lambda p, s: records[1:2])


def test_plan_adds_chunk_writes_and_stale_chunk_deletes():
    big = Item("p", "s", "var", {"blob": noise(800_000)})
    raw = codec.plan([Put(R, big, MustNotExist())])
    assert [(w.op, w.sk) for w in raw] == [
        (Op.PUT, "s"),
        (Op.PUT, "s#chunk#0001"),
        (Op.PUT, "s#chunk#0002"),
    ]
    assert raw[0].condition == MustNotExist() and raw[1].condition is None
    shrink = codec.plan([Put(R, Item("p", "s", "var"), replaces_chunks=2)])
    assert [(w.op, w.sk) for w in shrink] == [
        (Op.PUT, "s"),
        (Op.DELETE, "s#chunk#0001"),
        (Op.DELETE, "s#chunk#0002"),
    ]
    delete = codec.plan([Delete(R, "p", "s", chunks=1)])
    assert [(w.op, w.sk) for w in delete] == [(Op.DELETE, "s"), (Op.DELETE, "s#chunk#0001")]


def test_plan_limits():
    with pytest.raises(TransactionTooLarge) as too_many:
        codec.plan([Put(R, Item("p", f"{n}", "var")) for n in range(101)])
    assert status_of(too_many.value) == 400 and isinstance(too_many.value, ValueError)
    big = [Put(R, Item(f"p{n}", "s", "var", {"b": noise(700_000)})) for n in range(6)]
    with pytest.raises(TransactionTooLarge):  # about 4.2 MB
        codec.plan(big)
    with pytest.raises(DuplicateWrite):
        codec.plan([Put(R, Item("p", "s", "var")), Put(R, Item("p", "s", "var"))])
    with pytest.raises(InvalidItem):
        codec.plan([])
    with pytest.raises(InvalidItem):
        codec.plan([SetVersion(R, "p", "s", 2, None)])
    assert codec.plan([SetVersion(R, "p", "s", 2, VersionIs(1))])[0].op is Op.SET_VERSION


@pytest.mark.parametrize(
    "bad",
    [
        Item("", "s", "var"),
        Item("p", "", "var"),
        Item("p", "s", ""),
        Item("p", "s", "#chunk"),
        Item("p", "s", "var", {"x": float("nan")}),
        Item("p", "s", "var", {"x": object()}),
        Item("p", "s", "var", index={"sort": ""}),
        Item("p", "s", "var", ttl=-1),
    ],
)
def test_invalid_items(bad):
    with pytest.raises(InvalidItem):
        codec.encode(R, bad)


def test_tokens_round_trip_and_reject_garbage():
    token = encode_token({"pk": "a", "sk": "b/é"})
    assert decode_token(token, ["pk", "sk"]) == {"pk": "a", "sk": "b/é"}
    for bad in ("", "%%%", encode_token({"pk": "a"}), encode_token({"pk": "a", "sk": ""})):
        with pytest.raises(InvalidPageToken):
            decode_token(bad, ["pk", "sk"])


def test_small_bodies_are_plain_json_larger_ones_compressed_and_both_decode():
    small = Item("p", "s", "var", {"name": "é", "n": 1})
    (record,) = codec.encode(R, small)
    assert record["body"] == '{"name":"é","n":1}'.encode()  # under RAW_BODY_BYTES: as is
    assert codec.assemble([record], lambda p, s: []) == [small]
    for size in (codec.RAW_BODY_BYTES, 2_000, 100_000):
        item = Item("p", "s", "var", {"text": noise(size)[:size]})
        (record,) = codec.encode(R, item)
        assert record["body"][0] & 0x0F == 8  # a zlib stream (deflate)
        assert codec.assemble([record], lambda p, s: []) == [item]
    empty = Item("p", "s", "var")
    (record,) = codec.encode(R, empty)
    assert record["body"] == b"{}" and codec.assemble([record], lambda p, s: []) == [empty]


def test_bodies_written_before_plain_ones_still_decode():
    import json
    import zlib

    data = {"a": [1, 2, "x"], "b": None}
    old = {
        "pk": "p",
        "sk": "s",
        "kind": "var",
        "schema_version": 1,
        "body": zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 6),
    }
    assert codec.assemble([old], lambda p, s: []) == [Item("p", "s", "var", data)]
    assert codec.assemble([dict(old, body=b"")], lambda p, s: []) == [Item("p", "s", "var")]
