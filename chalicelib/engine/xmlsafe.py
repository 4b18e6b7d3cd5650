"""Hardened XML parsing for user-supplied BPMN documents.

Rules (``DESIGN.md`` §2, ``DECISIONS.md`` "BPMN scope"):

- a size limit, checked on the raw input before any parsing (default 5 MB);
- any DOCTYPE is refused outright. The prolog is scanned before parsing, because
  ``resolve_entities=False`` alone silently *accepts* a DOCTYPE that declares an external
  entity; the parsed tree's ``docinfo`` is checked again afterwards;
- no DTD loading, no entity expansion, no network access, no ``huge_tree``;
- an element depth limit (default 256), enforced while streaming with ``iterparse`` so a
  100,000-deep document stops at the first element past the limit (libxml2 itself also stops
  at 256 without ``huge_tree``); nothing here recurses over the tree;
- comments and processing instructions are dropped (the XML declaration is not a PI).

Every refusal is a :class:`BpmnSyntaxError` with a line and column where one is known.
"""

from __future__ import annotations

import codecs
import io
import re

from lxml import etree

from chalicelib.engine.problems import BpmnSyntaxError, ProblemCode

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_DEPTH", "parse_xml", "to_bytes"]

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_DEPTH = 256

_ENCODING_DECL = re.compile(r"""(^\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""", re.S)


def to_bytes(xml: bytes | str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Return the document as bytes, refusing it (before any decoding work) if too large.

    A ``str`` is encoded as UTF-8, and its XML declaration's ``encoding`` is rewritten to
    match (lxml refuses a ``str`` that declares an encoding).
    """
    if isinstance(xml, str):
        if len(xml) > max_bytes:
            raise _too_large(max_bytes)
        xml = _ENCODING_DECL.sub(r"\1\2UTF-8\2", xml, count=1).encode("utf-8")
    elif not isinstance(xml, (bytes, bytearray, memoryview)):
        raise BpmnSyntaxError("the document must be text or bytes")
    data = bytes(xml)
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    if not data.strip():
        raise BpmnSyntaxError("the document is empty", 1, 1)
    return data


def parse_xml(
    xml: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH
) -> etree._Element:
    """Parse untrusted XML safely and return the root element.

    Raises :class:`BpmnSyntaxError` for malformed XML, a DOCTYPE, a document larger than
    ``max_bytes`` or nested deeper than ``max_depth``.
    """
    data = to_bytes(xml, max_bytes)
    _refuse_doctype_in_prolog(data)
    depth = 0
    root = None
    events = etree.iterparse(
        io.BytesIO(data),
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        remove_blank_text=False,
        recover=False,
    )
    try:
        for event, element in events:
            if event == "start":
                depth += 1
                if root is None:
                    root = element
                if depth > max_depth:
                    raise BpmnSyntaxError(
                        f"elements are nested deeper than {max_depth} levels",
                        element.sourceline or 0,
                        0,
                        ProblemCode.XML_FORBIDDEN,
                    )
            else:
                depth -= 1
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (0, 0)
        message = exc.msg or str(exc)
        code = ProblemCode.XML_SYNTAX
        if "Excessive depth" in message:
            message, code = (
                f"elements are nested deeper than {max_depth} levels",
                ProblemCode.XML_FORBIDDEN,
            )
        raise BpmnSyntaxError(message, line or 0, column or 0, code) from None
    if root is None:  # pragma: no cover - libxml2 reports an empty document itself
        raise BpmnSyntaxError("the document has no root element", 1, 1)
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise BpmnSyntaxError("a DOCTYPE is not allowed", 1, 1, ProblemCode.XML_FORBIDDEN)
    return root


def _too_large(max_bytes: int) -> BpmnSyntaxError:
    return BpmnSyntaxError(
        f"the document is larger than {max_bytes} bytes", 0, 0, ProblemCode.XML_FORBIDDEN
    )


def _prolog_text(data: bytes) -> str:
    """Decode the start of the document, enough to read its prolog (BOM-aware)."""
    head = data[:8192]
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF8, "utf-8"),
    ):
        if head.startswith(bom):
            return head[len(bom) :].decode(name, errors="ignore")
    if head[:2] == b"<\x00":
        return head.decode("utf-16-le", errors="ignore")
    if head[:2] == b"\x00<":
        return head.decode("utf-16-be", errors="ignore")
    return head.decode("latin-1")


def _refuse_doctype_in_prolog(data: bytes) -> None:
    """Refuse a document whose prolog (before the root element) holds a DOCTYPE.

    Walks the prolog item by item: XML declaration, comments, processing instructions and
    whitespace are skipped; the first other markup must be the root element's start tag.
    """
    text = _prolog_text(data)
    pos, line = 0, 1
    while pos < len(text):
        if text[pos].isspace():
            line += text[pos] == "\n"
            pos += 1
            continue
        if text.startswith("<?", pos):
            end, closer = text.find("?>", pos), "?>"
        elif text.startswith("<!--", pos):
            end, closer = text.find("-->", pos), "-->"
        elif text.startswith("<!", pos):
            if text[pos + 2 : pos + 9].upper() == "DOCTYPE":
                column = pos - text.rfind("\n", 0, pos)
                raise BpmnSyntaxError(
                    "a DOCTYPE is not allowed", line, column, ProblemCode.XML_FORBIDDEN
                )
            return  # anything else (CDATA before root, ...) is left to libxml2 to refuse
        else:
            return  # the root element (or junk libxml2 will report)
        if end < 0:
            return
        line += text.count("\n", pos, end)
        pos = end + len(closer)
