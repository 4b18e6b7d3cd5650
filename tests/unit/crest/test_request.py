"""HTTP request -> CrestRequest: request types, parameters, versions, preconditions, bodies."""

import json

import pytest

from chalicelib.crest.enums import CountPolicy, RequestType
from chalicelib.crest.filter import Comparison, Constant
from chalicelib.crest.paging import SortKey
from chalicelib.crest.request import ApiVersion, decode_path_id, parse_api_version, parse_request
from chalicelib.errors import (
    BadRequest,
    Conflict,
    NotSupported,
    PayloadTooLarge,
    PreconditionFailed,
)

JSON = {"Content-Type": "application/json"}


def get(params=None, headers=None, **kwargs):
    return parse_request("GET", params, headers, **kwargs)


def error(exc_type, *args, **kwargs):
    with pytest.raises(exc_type) as err:
        parse_request(*args, **kwargs)
    return err.value.message


# ---------------------------------------------------------------------------------- request types


@pytest.mark.parametrize(
    "method, params, headers, expected",
    [
        ("GET", {}, {}, RequestType.READ),
        ("GET", {"_queryFilter": "true"}, {}, RequestType.QUERY),
        ("GET", {"_QUERYID": "query-all-ids"}, {}, RequestType.QUERY),
        ("GET", {"_queryExpression": "x"}, {}, RequestType.QUERY),
        ("POST", {}, {}, RequestType.CREATE),
        ("POST", {"_action": "create"}, {}, RequestType.CREATE),
        ("POST", {"_action": "claim"}, {}, RequestType.ACTION),
        ("PUT", {}, {"If-Match": '"3"'}, RequestType.UPDATE),
        ("PUT", {}, {"If-None-Match": "*"}, RequestType.CREATE),
        ("PUT", {}, {}, RequestType.UPDATE),
        ("DELETE", {}, {}, RequestType.DELETE),
        ("PATCH", {}, {}, RequestType.PATCH),
        ("post", {}, {"X-HTTP-Method-Override": "delete"}, RequestType.DELETE),
    ],
)
def test_request_type(method, params, headers, expected):
    assert parse_request(method, params, headers).request_type == expected


def test_action_name_only_for_actions():
    assert parse_request("POST", {"_action": "complete"}).action == "complete"
    assert parse_request("POST", {"_action": "create"}).action is None


def test_put_without_conditions_is_an_upsert():
    assert parse_request("PUT").upsert is True
    assert parse_request("PUT", headers={"If-Match": "*"}).upsert is False
    assert parse_request("PUT", headers={"Accept-API-Version": "protocol=1.0"}).upsert is False


def test_post_without_action_under_protocol_1_needs_an_action():
    assert "_action" in error(BadRequest, "POST", headers={"Accept-API-Version": "protocol=1.0"})


def test_unsupported_methods():
    assert error(NotSupported, "HEAD") == "The HTTP method HEAD is not supported"
    assert error(NotSupported, "POST", headers={"X-HTTP-Method-Override": "TRACE"})


def test_crestapi_is_not_supported():
    error(NotSupported, "GET", {"_crestapi": ""})


# ---------------------------------------------------------------------------------- parameters


def test_query_parameters_parsed():
    request = get(
        {
            "_queryFilter": ["name eq 'x'"],
            "_pageSize": "10",
            "_pagedResultsOffset": "20",
            "_totalPagedResultsPolicy": "exact",
            "_sortKeys": "-startTime,name",
            "_fields": ["a", "b/c"],
            "_prettyPrint": "TRUE",
        }
    )
    assert request.query_filter == Comparison(("name",), "eq", "x")
    assert (request.page_size, request.paged_results_offset) == (10, 20)
    assert request.total_paged_results_policy == CountPolicy.EXACT
    assert request.sort_keys == (SortKey(("startTime",), False), SortKey(("name",)))
    assert request.fields == (("a",), ("b", "c"))
    assert request.pretty_print is True


def test_defaults():
    request = get({"_queryFilter": "true"})
    assert request.query_filter == Constant(True)
    assert (request.page_size, request.paged_results_offset, request.paged_results_cookie) == (
        0,
        0,
        None,
    )
    assert request.total_paged_results_policy == CountPolicy.NONE
    assert (request.sort_keys, request.fields, request.pretty_print) == ((), (), False)
    assert request.version == ApiVersion((1, 0), (2, 1))
    assert request.content is None


def test_reserved_names_are_case_insensitive_and_others_are_additional():
    request = get(
        {
            "_QueryID": "filtered-query",
            "_PAGESIZE": "2",
            "processDefinitionId": "p:1",
            "var-x": ["1", "2"],
            "Finished": "true",
        }
    )
    assert request.query_id == "filtered-query" and request.page_size == 2
    assert request.additional_parameters == {
        "processDefinitionId": "p:1",
        "var-x": "2",
        "Finished": "true",
    }
    assert request.getlist("var-x") == ("1", "2")
    assert request.param("var-x") == "2"
    assert request.param("finished") is None  # additional parameters are case-sensitive
    assert request.param("missing", "d") == "d"


def test_fields_and_sort_keys_repeat():
    request = get({"_fields": ["a,b", "c"], "_sortKeys": ["a", "-b"]})
    assert request.fields == (("a",), ("b",), ("c",))
    assert [k.ascending for k in request.sort_keys] == [True, False]


def test_single_valued_parameters_do_not_repeat():
    assert (
        error(BadRequest, "GET", {"_pageSize": ["1", "2"]})
        == "The parameter _pageSize is single-valued but 2 values were provided"
    )


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"_queryId": "a", "_queryFilter": "true"},
            "The parameters _queryId and _queryFilter are mutually exclusive",
        ),
        (
            {"_queryExpression": "a", "_queryFilter": "true"},
            "The parameters _queryExpression and _queryFilter are mutually exclusive",
        ),
        (
            {"_queryId": "a", "_queryExpression": "b"},
            "The parameters _queryId and _queryExpression are mutually exclusive",
        ),
        (
            {"_queryFilter": "true", "_pagedResultsOffset": "5", "_pagedResultsCookie": "abc"},
            "The parameters _pagedResultsOffset and _pagedResultsCookie are mutually exclusive",
        ),
        (
            {"_queryFilter": "true", "_totalPagedResultsPolicy": "SOME"},
            "The value 'SOME' for parameter '_totalPagedResultsPolicy' could not be parsed as a valid "
            "count policy",
        ),
        (
            {"_queryFilter": "true", "_sortKeys": "a,,b"},
            "The value 'a,,b' for parameter '_sortKeys' could not be parsed as a comma separated list of "
            "sort keys",
        ),
        (
            {"_prettyPrint": "yes"},
            "The value 'yes' for parameter '_prettyPrint' could not be parsed as a boolean",
        ),
        (
            {"_queryFilter": "a eq"},
            "The value 'a eq' for parameter '_queryFilter' could not be parsed as a valid query filter: "
            "expected a value at position 4",
        ),
        (
            {"_queryFilter": "true", "_mimeType": "image/png"},
            "The parameter _mimeType requires a read request with exactly one _fields value",
        ),
        (
            {"_mimeType": "image/png", "_fields": "a,b"},
            "The parameter _mimeType requires a read request with exactly one _fields value",
        ),
    ],
)
def test_parameter_errors(params, message):
    assert error(BadRequest, "GET", params) == message


@pytest.mark.parametrize("name", ["_pageSize", "_pagedResultsOffset"])
@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "1e3", str(10**12), "2147483648", " "])
def test_bad_integers_name_the_parameter(name, value):
    message = error(BadRequest, "GET", {"_queryFilter": "true", name: value})
    assert message == (
        f"The value '{value}' for parameter '{name}' is not an integer between 0 and 2147483647"
    )


def test_page_size_clamped_to_the_server_maximum():
    assert get({"_queryFilter": "true", "_pageSize": "2147483647"}).page_size == 1000
    assert get({"_queryFilter": "true", "_pageSize": "80"}, max_page_size=50).page_size == 50
    assert get({"_queryFilter": "true", "_pageSize": "0"}).page_size == 0


def test_mime_type_with_one_field_on_a_read():
    request = get({"_mimeType": "image/png", "_fields": "diagram"})
    assert request.mime_type == "image/png" and request.fields == (("diagram",),)


def test_empty_cookie_is_no_cookie():
    assert get({"_queryFilter": "true", "_pagedResultsCookie": ""}).paged_results_cookie is None


# ---------------------------------------------------------------------------------- versions


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, ApiVersion((1, 0), (2, 1))),
        ("resource=1.0", ApiVersion((1, 0), (2, 1))),
        ("protocol=2.0", ApiVersion((1, 0), (2, 0))),
        ("protocol=2.1,resource=1.0", ApiVersion((1, 0), (2, 1))),
        ("resource=1.2, protocol=1", ApiVersion((1, 2), (1, 0))),
        ("RESOURCE=1", ApiVersion((1, 0), (2, 1))),
    ],
)
def test_api_version(header, expected):
    assert parse_api_version(header) == expected
    if header:
        assert get(headers={"accept-api-version": header}).version == expected


@pytest.mark.parametrize(
    "header",
    [
        "resource=",
        "resource=1.0.1",
        "resource=a",
        "version=1.0",
        "resource=1.0,resource=1.0",
        "resource=1.0;protocol=2.1",
        "resource=1.0,",
        "resource 1.0",
        "resource=-1",
    ],
)
def test_malformed_api_version(header):
    assert (
        error(BadRequest, "GET", headers={"Accept-API-Version": header})
        == f"Malformed header Accept-API-Version: '{header}'"
    )


@pytest.mark.parametrize(
    "header, message",
    [
        ("resource=2.0", "Unsupported resource version 2.0: the supported version is resource=1.0"),
        ("resource=0.9", "Unsupported resource version 0.9: the supported version is resource=1.0"),
        ("protocol=3.0", "Unsupported major version: 3.0"),
        ("protocol=2.2", "Unsupported minor version: 2.2"),
        ("resource=1.0,protocol=0.1", "Unsupported major version: 0.1"),
    ],
)
def test_unsupported_api_version(header, message):
    assert error(BadRequest, "GET", headers={"Accept-API-Version": header}) == message


# ---------------------------------------------------------------------------------- preconditions


def test_etag_quotes_stripped():
    request = parse_request("PUT", headers={"if-match": '"7"'})
    assert request.if_match == "7"
    assert parse_request("PUT", headers={"If-Match": "*"}).if_match == "*"
    assert parse_request("DELETE", headers={"If-Match": "abc"}).if_match == "abc"


@pytest.mark.parametrize(
    "headers, message",
    [
        ({"If-Match": "*"}, "If-Match not supported for GET requests"),
        ({"If-None-Match": '"1"'}, "If-None-Match not supported for GET requests"),
    ],
)
def test_conditional_query_is_412(headers, message):
    assert error(PreconditionFailed, "GET", {"_queryFilter": "true"}, headers) == message


def test_conditional_read():
    assert (
        error(PreconditionFailed, "GET", {}, {"If-None-Match": "*"})
        == "If-None-Match: * not supported for read requests"
    )
    assert (
        error(PreconditionFailed, "GET", {}, {"If-Match": '"1"'})
        == "If-Match not supported for read requests"
    )
    assert get(headers={"If-None-Match": '"4"'}).if_none_match == "4"


def test_put_with_if_none_match_other_than_star():
    assert (
        error(BadRequest, "PUT", {}, {"If-None-Match": '"5"'})
        == '"5" is not a supported value for If-None-Match on PUT'
    )


@pytest.mark.parametrize("name", ["If-Modified-Since", "If-Unmodified-Since"])
def test_modified_since_headers_are_409(name):
    assert (
        error(Conflict, "GET", {}, {name: "Tue, 1 Jan 2026 00:00:00 GMT"})
        == f"Header {name} not supported"
    )


# ---------------------------------------------------------------------------------- bodies


def test_json_body_bytes_or_text():
    assert parse_request("POST", {"_action": "claim"}, JSON, b'{"userId": "bob"}').content == {
        "userId": "bob"
    }
    assert parse_request(
        "PUT", {}, {"content-type": "application/json; charset=UTF-8"}, '{"name": "é"}'
    ).content == {"name": "é"}
    assert parse_request("POST", {}, {}, b'{"a": 1}').content == {"a": 1}  # no content type


@pytest.mark.parametrize("body", [None, b"", "", b"  \n"])
def test_empty_body_is_an_empty_object(body):
    assert parse_request("POST", {"_action": "complete"}, JSON, body).content == {}


def test_get_body_is_ignored():
    assert get({}, {"Content-Type": "text/plain"}, body=b"junk").content is None


def test_wrong_content_type():
    assert error(BadRequest, "POST", {}, {"Content-Type": "text/plain"}, b"x") == (
        "The request could not be processed because it specified the content-type 'text/plain' "
        "when only the content-type 'application/json' is supported"
    )
    assert "'application/json' and 'application/xml' are supported" in error(
        BadRequest,
        "POST",
        {},
        {"Content-Type": "text/xml"},
        b"<a/>",
        content_types=("application/json", "application/xml"),
    )


def test_allowed_xml_body_is_kept_raw():
    request = parse_request(
        "POST",
        {"_action": "validate_bpmn"},
        {"Content-Type": "application/xml"},
        b"<definitions/>",
        content_types=("application/json", "application/xml"),
    )
    assert (request.content, request.raw_content) == (None, "<definitions/>")


@pytest.mark.parametrize(
    "body, what, position",
    [
        (b'{"a": 1,}', "Expecting property name enclosed in double quotes", 8),
        (b'{"a" 1}', "Expecting ':' delimiter", 5),
        (b'{"a": tru}', "Expecting value", 6),
        (b'{"a": 1} x', "Extra data", 9),
        (b'{"a": "NaN", "b": NaN}', "NaN is not a valid JSON value", 18),
        (b'{"a": -Infinity}', "-Infinity is not a valid JSON value", 6),
    ],
)
def test_malformed_json_names_the_position(body, what, position):
    assert (
        error(BadRequest, "PUT", {}, JSON, body)
        == f"The request content could not be parsed as JSON: {what} at position {position}"
    )


def test_invalid_utf8():
    assert (
        error(BadRequest, "PUT", {}, JSON, b'{"a": "\xff"}')
        == "The request body is not valid UTF-8: invalid byte at position 7"
    )


def test_deeply_nested_json_is_a_400():
    assert "nested too deeply" in error(BadRequest, "PUT", {}, JSON, b"[" * 100000)


def test_json_nested_past_the_depth_limit_is_a_400_naming_it():
    from chalicelib.limits import Limits

    deep = b'{"a": ' + b"[" * 900 + b"]" * 900 + b"}"
    message = error(BadRequest, "PUT", {}, JSON, deep)
    assert "'request body' is nested deeper than 64 levels" in message
    assert "WORKFLOW_MAX_JSON_DEPTH" in message
    at_limit = b'{"a": ' + b"[" * 63 + b"]" * 63 + b"}"
    assert parse_request("PUT", {}, JSON, at_limit).content["a"] is not None
    assert "deeper than 3 levels" in error(
        BadRequest, "PUT", {}, JSON, b'{"a": [[[]]]}', limits=Limits(json_depth=3)
    )


@pytest.mark.parametrize("body", [b"[1]", b'"text"', b"3", b"null"])
def test_body_must_be_an_object(body):
    assert error(BadRequest, "POST", {}, JSON, body) == (
        "The request could not be processed because the provided content is not a JSON object"
    )
    assert parse_request("POST", {}, JSON, body, require_object=False).content == json.loads(body)


def test_patch_body_may_be_an_array():
    assert parse_request("PATCH", {}, JSON, b'[{"operation": "add"}]').content == [
        {"operation": "add"}
    ]


def test_body_size_limit():
    assert parse_request("POST", {}, JSON, b'{"a": 1}', max_body_bytes=8).content == {"a": 1}
    assert (
        error(PayloadTooLarge, "POST", {}, JSON, b'{"a": 12}', max_body_bytes=8)
        == "The request body is larger than the maximum of 8 bytes"
    )
    # Measured in bytes, not characters.
    error(PayloadTooLarge, "POST", {}, JSON, '{"a":"éé"}', max_body_bytes=10)


# ---------------------------------------------------------------------------------- path ids


def test_decode_path_id_once():
    assert decode_path_id("contractorOnboarding%3A1%3A5") == "contractorOnboarding:1:5"
    assert decode_path_id("a%2525b") == "a%25b"
    assert decode_path_id("a+b") == "a+b"
    assert decode_path_id("%C3%A9") == "é"
    with pytest.raises(BadRequest):
        decode_path_id("%FF")
