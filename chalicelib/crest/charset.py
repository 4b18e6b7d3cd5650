"""Request bodies to text: UTF-8 for JSON, the declared charset for XML.

JSON bodies are UTF-8 (RFC 8259 §8.1; a UTF-8 byte order mark is skipped). An XML body
(``application/xml``, ``text/xml``, ``*+xml``) is decoded as RFC 7303 and the XML
specification (appendix F) say:

1. a byte order mark (UTF-8, UTF-16, UTF-32) wins;
2. else the ``charset`` parameter of ``Content-Type``;
3. else the ``encoding`` of the XML declaration (read from the first bytes, which every
   ASCII-compatible encoding spells alike; UTF-16 without a BOM is recognised by ``<\\0`` or
   ``\\0<``);
4. else UTF-8.

A charset Python does not know, or one that is not a plain character encoding
(``unicode_escape``, ``rot13``, ``utf-7``...), is a 400 naming it; bytes not valid in the chosen
charset are a 400 naming it and the position. The text handed on still starts with its XML
declaration: the BPMN parser re-encodes it as UTF-8 and rewrites that declaration, and its
hardening (no DOCTYPE, no entities) then applies whatever the body's encoding was.
"""

from __future__ import annotations

import codecs
import re

from ..errors import BadRequest

__all__ = ["decode_body", "is_xml", "content_type_charset", "declared_xml_encoding"]

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CHARSET_PARAM = re.compile(r";\s*charset\s*=\s*(?:\"([^\"]*)\"|([^\s;]*))", re.IGNORECASE)
_XML_DECLARATION = re.compile(
    rb"""^<\?xml\s[^>]{0,200}?\bencoding\s*=\s*(?:"([A-Za-z0-9._:-]{1,64})"|'([A-Za-z0-9._:-]{1,64})')"""
)
#: codecs Python knows that are not character encodings a client could mean for a document
_REFUSED = frozenset(
    {"unicode-escape", "raw-unicode-escape", "undefined", "utf-7", "idna", "punycode", "mbcs"}
)


def is_xml(media_type: str) -> bool:
    """Whether a (lower-case, parameter-free) media type is XML."""
    return media_type in ("application/xml", "text/xml") or media_type.endswith("+xml")


def content_type_charset(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a ``Content-Type`` value, or None."""
    match = _CHARSET_PARAM.search(content_type or "")
    if match is None:
        return None
    return (match.group(1) if match.group(1) is not None else match.group(2)).strip() or None


def declared_xml_encoding(data: bytes) -> str | None:
    """The ``encoding`` of the document's XML declaration, or None."""
    head = data[:512]
    if head.startswith(b"<\x00?\x00"):
        return "utf-16-le"
    if head.startswith(b"\x00<\x00?"):
        return "utf-16-be"
    match = _XML_DECLARATION.match(head)
    if match is None:
        return None
    return (match.group(1) or match.group(2)).decode("ascii")


def _codec(charset: str) -> str:
    try:
        info = codecs.lookup(charset)
    except LookupError:
        info = None
    if (
        info is None
        or not getattr(info, "_is_text_encoding", True)
        or info.name.replace("_", "-") in _REFUSED
    ):
        raise BadRequest(f"The request body's charset '{charset}' is not supported")
    return info.name


def decode_body(data: bytes, media_type: str, content_type: str | None) -> str:
    """The body as text: UTF-8 unless it is XML that declares another charset (see above)."""
    if not is_xml(media_type):
        return _decode(data, "utf-8-sig", "UTF-8")
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _decode(data, codec, codec.split("-sig")[0].upper())
    charset = content_type_charset(content_type) or declared_xml_encoding(data)
    if charset is None:
        return _decode(data, "utf-8", "UTF-8")
    return _decode(data, _codec(charset), charset)


def _decode(data: bytes, codec: str, label: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"The request body is not valid {label}: invalid byte at position {exc.start}"
        ) from None
