"""The input limits (``chalicelib/limits.py``): each check, its refusal and its cheap paths."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.errors import BadRequest
from chalicelib.limits import (
    DEFAULT_LIMITS,
    LimitExceeded,
    Limits,
    check_count,
    check_depth,
    check_instance_variables,
    check_key,
    check_response,
    check_variable,
    depth_exceeds,
    encoded_size,
    response_fits,
)


def nested(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_defaults_are_sane():
    assert DEFAULT_LIMITS.json_depth == 64  # DECISIONS.md: <= 64 levels
    assert DEFAULT_LIMITS.key_length == 255  # Flowable's varchar(255) columns
    assert DEFAULT_LIMITS.response_bytes < 6 * 1024 * 1024  # Lambda's response limit
    assert DEFAULT_LIMITS.variable_bytes < 400 * 1024  # one DynamoDB item
    assert DEFAULT_LIMITS.variable_bytes < DEFAULT_LIMITS.instance_variable_bytes
    assert DEFAULT_LIMITS.instance_variable_bytes < DEFAULT_LIMITS.response_bytes


@pytest.mark.parametrize("value", [1, "x", None, [], {}, [1, {"a": [2]}]])
def test_shallow_values_pass(value):
    assert not depth_exceeds(value, 64)
    check_depth(value, DEFAULT_LIMITS, "field")


def test_depth_counts_levels_of_lists_and_dicts():
    assert not depth_exceeds(nested(64), 64)
    assert depth_exceeds(nested(65), 64)
    assert depth_exceeds({"a": {"b": {"c": 1}}}, 2)
    assert not depth_exceeds({"a": {"b": {"c": 1}}}, 3)


def test_any_depth_is_measured_without_recursion_and_quickly():
    value = nested(200_000)
    started = time.monotonic()
    assert depth_exceeds(value, 64)  # stops at the limit: it never walks the 200,000 levels
    assert time.monotonic() - started < 0.5


def test_a_refusal_names_the_setting_its_value_and_the_field():
    with pytest.raises(LimitExceeded) as caught:
        check_depth(nested(100), DEFAULT_LIMITS, "request body")
    error = caught.value
    assert isinstance(error, BadRequest)  # a 400
    assert error.detail == {
        "limit": "WORKFLOW_MAX_JSON_DEPTH",
        "maximum": 64,
        "field": "request body",
    }
    assert "WORKFLOW_MAX_JSON_DEPTH is 64" in error.message and "request body" in error.message


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        'quo"te\\',
        "émoji ☃ \U0001f600",
        "\x00\x1f",
        12,
        1.5,
        True,
        None,
        [1, "é"],
        {"k": [None]},
    ],
)
def test_encoded_size_is_that_of_compact_utf8_json(value):
    expected = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    assert encoded_size(value) == expected


def test_a_variable_over_its_size_is_refused_naming_it():
    limits = Limits(variable_bytes=1000)
    check_variable("fits", "x" * 998, limits)
    with pytest.raises(LimitExceeded) as caught:
        check_variable("big", "x" * 999, limits)
    assert caught.value.detail["field"] == "big"
    assert caught.value.detail["limit"] == "WORKFLOW_MAX_VARIABLE_BYTES"
    with pytest.raises(LimitExceeded):
        check_variable("big", {"list": ["x" * 500, "y" * 500]}, limits)


def test_a_variable_nested_too_deep_or_named_too_long_is_refused():
    with pytest.raises(LimitExceeded) as caught:
        check_variable("deep", nested(65), DEFAULT_LIMITS)
    assert caught.value.detail["field"] == "deep"
    with pytest.raises(LimitExceeded) as caught:
        check_variable("n" * 256, 1, DEFAULT_LIMITS)
    assert caught.value.detail == {
        "limit": "WORKFLOW_MAX_KEY_LENGTH",
        "maximum": 255,
        "field": "variable name",
        "length": 256,
    }
    check_variable("n" * 255, nested(64), DEFAULT_LIMITS)


def test_count_key_and_instance_checks():
    check_count(200, DEFAULT_LIMITS, "request body", "The request")
    with pytest.raises(LimitExceeded, match="The request sets 201 variables"):
        check_count(201, DEFAULT_LIMITS, "request body", "The request")
    check_key(None, DEFAULT_LIMITS, "assignee")
    check_key("a" * 255, DEFAULT_LIMITS, "assignee")
    with pytest.raises(LimitExceeded) as caught:
        check_key("a" * 5000, DEFAULT_LIMITS, "assignee")
    assert caught.value.detail["field"] == "assignee" and len(caught.value.message) < 300
    limits = Limits(instance_variables=3, instance_variable_bytes=100)
    check_instance_variables([1, "x" * 10, {"a": 1}], limits, "pi")
    with pytest.raises(LimitExceeded, match="WORKFLOW_MAX_INSTANCE_VARIABLES is 3"):
        check_instance_variables([1, 2, 3, 4], limits, "pi")
    with pytest.raises(LimitExceeded, match="WORKFLOW_MAX_INSTANCE_VARIABLE_BYTES is 100"):
        check_instance_variables(["x" * 60, {"a": "y" * 60}], limits, "pi")
    # the cheap bound of strings (6 bytes a character) is not a refusal: sizes are exact
    check_instance_variables(["x" * 40, "y" * 40], limits, "pi")


def test_the_response_check_names_the_largest_field():
    limits = Limits(response_bytes=1000)
    content = {"small": 1, "large": "x" * 2000, "medium": "y" * 100}
    body = json.dumps(content)
    assert not response_fits(body, limits) and response_fits("x" * 250, limits)
    with pytest.raises(LimitExceeded) as caught:
        check_response(body, limits, content)
    detail = caught.value.detail
    assert detail["field"] == "large" and detail["limit"] == "WORKFLOW_MAX_RESPONSE_BYTES"
    assert list(detail["fields"]) == ["large", "medium", "small"]
    assert "_fields" in caught.value.message
    check_response("é" * 500, limits)  # 1000 bytes exactly
