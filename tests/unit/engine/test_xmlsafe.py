"""Hardened XML parsing: DOCTYPE, entities, size and depth limits, syntax errors."""

from __future__ import annotations

import time

import pytest

from chalicelib.api.errors import status_of
from chalicelib.engine.parser import parse_bpmn
from chalicelib.engine.problems import BpmnSyntaxError, ProblemCode
from chalicelib.engine.validate import validate_bpmn
from chalicelib.engine.xmlsafe import parse_xml

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">
  <process id="p"><documentation>&xxe;</documentation><startEvent id="s"/></process>
</definitions>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""


def test_external_entity_is_refused_before_parsing():
    with pytest.raises(BpmnSyntaxError) as caught:
        parse_bpmn(XXE)
    assert caught.value.problem_code is ProblemCode.XML_FORBIDDEN
    assert "DOCTYPE" in caught.value.message
    assert caught.value.line == 2
    assert "root:" not in caught.value.message


def test_billion_laughs_is_refused_quickly():
    started = time.perf_counter()
    with pytest.raises(BpmnSyntaxError, match="DOCTYPE"):
        parse_bpmn(BILLION_LAUGHS)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    "prolog",
    [
        b"<!DOCTYPE definitions>",
        b'<!DOCTYPE definitions SYSTEM "http://example.com/x.dtd">',
        b"<!-- a comment --><?pi x?>\n<!doctype definitions>",
    ],
)
def test_any_doctype_is_refused(prolog):
    document = (
        b'<?xml version="1.0"?>\n'
        + prolog
        + b'\n<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>'
    )
    with pytest.raises(BpmnSyntaxError, match="DOCTYPE"):
        parse_xml(document)


def test_doctype_in_utf16_document_is_refused():
    document = (
        '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE d [<!ENTITY e "x">]><d>&e;</d>'
    ).encode("utf-16")
    with pytest.raises(BpmnSyntaxError, match="DOCTYPE"):
        parse_xml(document)


def test_ten_megabyte_document_is_refused_before_parsing():
    document = b"<a>" + b"x" * (10 * 1024 * 1024) + b"</a>"
    started = time.perf_counter()
    with pytest.raises(BpmnSyntaxError, match="larger than"):
        parse_bpmn(document)
    assert time.perf_counter() - started < 0.5


def test_large_text_input_is_refused_too():
    with pytest.raises(BpmnSyntaxError, match="larger than"):
        parse_xml("<a>" + "x" * 2000 + "</a>", max_bytes=1000)


def test_deep_nesting_is_refused_quickly_without_recursion_error():
    document = b"<a>" * 100_000 + b"</a>" * 100_000
    started = time.perf_counter()
    with pytest.raises(BpmnSyntaxError, match="nested deeper than 256") as caught:
        parse_bpmn(document)
    assert time.perf_counter() - started < 1.0
    assert caught.value.problem_code is ProblemCode.XML_FORBIDDEN


def test_own_depth_limit_applies_below_libxml2s():
    document = b"<a>" * 20 + b"</a>" * 20
    with pytest.raises(BpmnSyntaxError, match="deeper than 10"):
        parse_xml(document, max_depth=10)
    assert parse_xml(document, max_depth=20).tag == "a"


def test_syntax_error_has_line_and_column():
    with pytest.raises(BpmnSyntaxError) as caught:
        parse_bpmn(b'<?xml version="1.0"?>\n<definitions>\n  <process>\n</definitions>')
    assert caught.value.line == 4
    assert caught.value.column > 0
    assert status_of(caught.value) == 400


@pytest.mark.parametrize(
    "document", [b"", b"   ", b"not xml", b"<a", "<a>\u00e9</b>", b"\xff\xfe\x00garbage"]
)
def test_garbage_is_a_syntax_error(document):
    with pytest.raises(BpmnSyntaxError):
        parse_bpmn(document)


def test_comments_and_processing_instructions_are_dropped():
    root = parse_xml(b'<?xml version="1.0"?><a><!-- c --><?php echo 1 ?><b/></a>')
    assert [child.tag for child in root] == ["b"]


def test_text_with_encoding_declaration_is_accepted():
    root = parse_xml('<?xml version="1.0" encoding="ISO-8859-1"?><a>\u00e9</a>')
    assert root.text == "\u00e9"


def test_validate_bpmn_reports_refused_xml_as_an_error_item():
    report = validate_bpmn(XXE)
    assert not report.valid
    item = report.to_json()["errors"][0]
    assert item["problem"] == ProblemCode.XML_FORBIDDEN.value
    assert item["xmlLineNumber"] == 2
    assert item["isWarning"] is False
