"""`crest/charset.py`: JSON bodies as UTF-8, XML bodies by their declared charset.

Through the request parser too (``parse_request`` hands the decoded XML on as
``raw_content``); the BPMN parser's hardening on such text is checked at the end.
"""

from __future__ import annotations

import codecs

import pytest

from chalicelib.crest.charset import (
    content_type_charset,
    declared_xml_encoding,
    decode_body,
    is_xml,
)
from chalicelib.crest.request import parse_request
from chalicelib.errors import BadRequest

XML = "application/xml"
LATIN1_DOC = '<?xml version="1.0" encoding="ISO-8859-1"?><a b="café"/>'


def test_content_type_charset():
    assert content_type_charset("application/xml; charset=ISO-8859-1") == "ISO-8859-1"
    assert content_type_charset('text/xml;CHARSET="windows-1252"') == "windows-1252"
    assert content_type_charset("application/xml") is None
    assert content_type_charset(None) is None
    assert content_type_charset("application/xml; charset=") is None


def test_declared_xml_encoding():
    assert declared_xml_encoding(LATIN1_DOC.encode("latin-1")) == "ISO-8859-1"
    assert declared_xml_encoding(b"<?xml version='1.0' encoding='utf-8'?><a/>") == "utf-8"
    assert declared_xml_encoding(b'<?xml version="1.0"?><a encoding="x"/>') is None
    assert declared_xml_encoding(b"<a/>") is None
    assert declared_xml_encoding("<?xml version='1.0'?><a/>".encode("utf-16-le")) == "utf-16-le"
    assert declared_xml_encoding("<?xml version='1.0'?><a/>".encode("utf-16-be")) == "utf-16-be"


def test_is_xml():
    assert is_xml("application/xml") and is_xml("text/xml") and is_xml("application/bpmn+xml")
    assert not is_xml("application/json")


@pytest.mark.parametrize(
    "data, content_type",
    [
        (LATIN1_DOC.encode("latin-1"), "application/xml; charset=ISO-8859-1"),
        (LATIN1_DOC.encode("latin-1"), "application/xml"),  # the declaration says it
        (LATIN1_DOC.replace("ISO-8859-1", "UTF-8").encode(), "application/xml"),
        (LATIN1_DOC.replace('encoding="ISO-8859-1"', "").encode(), "application/xml"),
        (codecs.BOM_UTF8 + LATIN1_DOC.encode(), "application/xml; charset=ISO-8859-1"),
        (LATIN1_DOC.replace("ISO-8859-1", "UTF-16").encode("utf-16"), "application/xml"),
        (LATIN1_DOC.replace("ISO-8859-1", "UTF-16").encode("utf-16-le"), "application/xml"),
        (LATIN1_DOC.encode("cp1252"), "text/xml; charset=windows-1252"),
        (LATIN1_DOC.encode("utf-32"), "application/xml"),
    ],
)
def test_xml_decoded_by_its_declared_charset(data, content_type):
    text = decode_body(data, XML, content_type)
    assert 'b="café"' in text and text.lstrip("\ufeff").startswith("<?xml")


def test_content_type_charset_wins_over_the_declaration():
    data = LATIN1_DOC.replace("ISO-8859-1", "UTF-8").encode("latin-1")
    assert 'b="café"' in decode_body(data, XML, "application/xml; charset=latin-1")


@pytest.mark.parametrize("charset", ["klingon", "rot13", "base64", "unicode_escape", "utf-7"])
def test_an_unknown_or_odd_charset_is_a_400_naming_it(charset):
    with pytest.raises(BadRequest) as raised:
        decode_body(b"<a/>", XML, f"application/xml; charset={charset}")
    assert raised.value.message == f"The request body's charset '{charset}' is not supported"


def test_bytes_invalid_in_the_charset_name_it():
    with pytest.raises(BadRequest) as raised:
        decode_body(b"<a>\xe9</a>", XML, "application/xml; charset=us-ascii")
    assert raised.value.message == (
        "The request body is not valid us-ascii: invalid byte at position 3"
    )
    with pytest.raises(BadRequest) as raised:
        decode_body(b"<a>\xe9</a>", XML, "application/xml")
    assert raised.value.message == "The request body is not valid UTF-8: invalid byte at position 3"


def test_json_stays_utf8_whatever_the_charset_parameter():
    assert decode_body('{"a": "é"}'.encode(), "application/json", "application/json") == (
        '{"a": "é"}'
    )
    with pytest.raises(BadRequest):
        decode_body('{"a": "é"}'.encode("latin-1"), "application/json", "charset=latin-1")


def test_parse_request_hands_decoded_xml_on():
    request = parse_request(
        "POST",
        {"_action": "validate_bpmn"},
        {"content-type": "application/xml; charset=ISO-8859-1"},
        LATIN1_DOC.encode("latin-1"),
        content_types=("application/json", "application/xml"),
    )
    assert request.raw_content is not None and 'b="café"' in request.raw_content


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "UTF-16", "windows-1252"])
def test_a_doctype_is_still_refused_in_every_encoding(encoding):
    from chalicelib.engine.problems import BpmnSyntaxError
    from chalicelib.engine.xmlsafe import parse_xml

    document = (
        f'<?xml version="1.0" encoding="{encoding}"?>'
        '<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a b="caf\u00e9">&e;</a>'
    )
    text = decode_body(document.encode(encoding), XML, f"application/xml; charset={encoding}")
    with pytest.raises(BpmnSyntaxError, match="DOCTYPE"):
        parse_xml(text)
