"""The ``_fields`` parameter: parsing, selection from a query item, filtering a READ body."""

import pytest

from chalicelib.crest.fields import (
    ALL_FIELDS,
    all_fields,
    parse_fields,
    read_fields,
    select_fields,
)
from chalicelib.errors import BadRequest


def test_select_fields_by_leaf_name_with_id_and_rev():
    item = {"_id": "1", "_rev": "3", "name": "n", "nested": {"deep": 7}, "other": 1, "nul": None}
    fields = parse_fields(["name,nested/deep", "nul,absent"])
    assert select_fields(item, fields) == {
        "_id": "1",
        "_rev": "3",
        "name": "n",
        "deep": 7,
        "nul": None,
    }
    assert select_fields(item, ()) == item
    assert select_fields({"x": 1}, parse_fields(["x"])) == {"x": 1}


def test_parse_fields_reads_an_empty_entry_as_all_fields_and_rejects_bad_pointers():
    # CREST splits with Java's String.split: trailing empty entries are dropped, the others
    # are the empty pointer, "all fields" (DECISIONS.md: ``_fields=,diagram``)
    assert parse_fields(["a,b ,"]) == (("a",), ("b",))
    assert parse_fields([",diagram"]) == (ALL_FIELDS, ("diagram",))
    assert parse_fields(["a,,b "]) == (("a",), ALL_FIELDS, ("b",))
    assert parse_fields(["a", ""]) == (("a",), ALL_FIELDS)
    assert parse_fields([",a", ",b"]) == (ALL_FIELDS, ("a",), ("b",))
    with pytest.raises(BadRequest) as err:
        parse_fields(["a~x"])
    assert "'_fields'" in err.value.message


def test_read_fields_keeps_everything_without_fields_or_with_an_empty_pointer():
    body = {"_id": "1", "a": 1, "b": 2}
    assert read_fields(body, parse_fields(["a"])) == {"_id": "1", "a": 1}
    assert read_fields(body, ()) == body
    assert read_fields(body, [(), ("a",)]) == body
    assert read_fields(["not", "an", "object"], [("a",)]) == ["not", "an", "object"]


def test_select_fields_with_an_empty_pointer_keeps_the_whole_item():
    item = {"_id": "1", "_rev": "2", "name": "n", "key": "k"}
    assert select_fields(item, parse_fields([",diagram"])) == item
    assert all_fields(()) and all_fields(parse_fields([",x"])) and not all_fields([("x",)])
