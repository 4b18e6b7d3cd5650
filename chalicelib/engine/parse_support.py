"""Helpers shared by the BPMN parser modules: namespaces, attribute lookup, source positions.

Extension attributes are read from the ``flowable:``, ``activiti:`` and ``camunda:``
namespaces, in that order (Flowable's ``BpmnXMLUtil.getAttributeValue``).

Columns: lxml only records the line of an element, and for a start tag written over several
lines that is the line of its closing ``>``. :class:`Locator` therefore walks back from that
line to the line holding ``<prefix:tagName``, preferring the occurrence whose tag carries the
element's ``id="..."``, and reports that line and the 1-based column of the ``<``. When the tag
cannot be found (30 lines back at most) it keeps lxml's line and reports column 0 (unknown).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from chalicelib.engine.model import ErrorDeclaration, Escalation, Message, Signal
from chalicelib.engine.problems import Problem, ProblemCode

__all__ = [
    "BPMN_NS",
    "BPMNDI_NS",
    "DC_NS",
    "DI_NS",
    "EXTENSION_NAMESPACES",
    "local_name",
    "namespace",
    "bpmn",
    "ext_attr",
    "ext_bool",
    "bool_attr",
    "ext_children",
    "ext_text",
    "include_in_history",
    "bpmn_children",
    "child_text",
    "split_list",
    "Locator",
    "ParseContext",
]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
EXTENSION_NAMESPACES = (
    "http://flowable.org/bpmn",
    "http://activiti.org/bpmn",
    "http://camunda.org/schema/1.0/bpmn",
)


def local_name(element: etree._Element) -> str:
    """The tag without its namespace (``""`` for comments and other non-elements)."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def namespace(element: etree._Element) -> str:
    """The namespace URI of the element's tag (``""`` when none)."""
    tag = element.tag
    if not isinstance(tag, str) or not tag.startswith("{"):
        return ""
    return tag[1 : tag.index("}")]


def bpmn(name: str) -> str:
    """Clark notation of a BPMN model tag."""
    return f"{{{BPMN_NS}}}{name}"


def ext_attr(element: etree._Element, name: str, *aliases: str) -> str | None:
    """An extension attribute, from flowable:, then activiti:, then camunda: (first name wins)."""
    for attribute in (name, *aliases):
        for ns in EXTENSION_NAMESPACES:
            value = element.get(f"{{{ns}}}{attribute}")
            if value is not None:
                return value
    return None


def _as_bool(value: str | None, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().lower() == "true"


def ext_bool(element: etree._Element, name: str, default: bool = False, *aliases: str) -> bool:
    """A boolean extension attribute (``"true"`` in any case is true)."""
    return _as_bool(ext_attr(element, name, *aliases), default)


def bool_attr(element: etree._Element, name: str, default: bool) -> bool:
    """A boolean attribute without namespace."""
    return _as_bool(element.get(name), default)


def bpmn_children(element: etree._Element, name: str) -> list[etree._Element]:
    """Direct BPMN-namespace children with the given local name."""
    return [child for child in element if child.tag == bpmn(name)]


def ext_children(element: etree._Element, name: str) -> list[etree._Element]:
    """Extension children ``<flowable:name>`` (any of the three namespaces) of the
    element's ``<extensionElements>``."""
    found = []
    for holder in bpmn_children(element, "extensionElements"):
        for child in holder:
            if local_name(child) == name and namespace(child) in EXTENSION_NAMESPACES:
                found.append(child)
    return found


def ext_text(element: etree._Element, name: str) -> str | None:
    """Stripped text of the first extension child ``<flowable:name>`` (None when absent or
    blank)."""
    for child in ext_children(element, name):
        return "".join(child.itertext()).strip() or None
    return None


def include_in_history(element: etree._Element) -> bool:
    """``<flowable:includeInHistory>true</...>`` of a flow node or sequence flow (Flowable
    reads it with ``Boolean.valueOf``: "true" in any case)."""
    return (ext_text(element, "includeInHistory") or "").lower() == "true"


def child_text(element: etree._Element, name: str) -> str | None:
    """Stripped text of the first BPMN child ``name`` (``None`` when absent or blank)."""
    for child in bpmn_children(element, name):
        text = "".join(child.itertext()).strip()
        return text or None
    return None


def split_list(text: str | None) -> tuple[str, ...]:
    """Split a comma list, keeping commas inside ``${...}``/``#{...}`` and parentheses."""
    if not text or not text.strip():
        return ()
    items: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"" and depth:
            quote = char
        elif char in "{(":
            depth += 1
        elif char in "})":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    items.append("".join(current).strip())
    return tuple(item for item in items if item)


class Locator:
    """Finds the line and column of an element's start tag in the source text."""

    _SEARCH_BACK = 30

    def __init__(self, source: str):
        self._lines = source.splitlines()

    def locate(self, element: etree._Element) -> tuple[int, int]:
        """``(line, column)`` of the element's start tag, 1-based; column 0 when unknown."""
        line = element.sourceline or 0
        name = local_name(element)
        if not line or not name or line > len(self._lines):
            return line, 0
        tag = re.compile(r"<(?:[\w.-]+:)?" + re.escape(name) + r"(?=[\s/>]|$)")
        ident = element.get("id")
        first: tuple[int, int] | None = None
        for number in range(line, max(0, line - self._SEARCH_BACK), -1):
            text = self._lines[number - 1]
            for match in tag.finditer(text):
                if ident is None:
                    return number, match.start() + 1
                rest = text[match.end() :]
                closing = rest.find(">")
                head = rest if closing < 0 else rest[:closing]
                if re.search(r'\bid\s*=\s*["\']' + re.escape(ident) + r'["\']', head):
                    return number, match.start() + 1
                if closing < 0 and number < line:  # the id is on a following line
                    return number, match.start() + 1
                if first is None:
                    first = (number, match.start() + 1)
            if first is not None:
                return first
        return line, 0


@dataclass
class ParseContext:
    """Mutable state of one parse: where problems go and what has been declared."""

    locator: Locator
    problems: list[Problem] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set)
    messages: dict[str, Message] = field(default_factory=dict)
    signals: dict[str, Signal] = field(default_factory=dict)
    errors: dict[str, ErrorDeclaration] = field(default_factory=dict)
    escalations: dict[str, Escalation] = field(default_factory=dict)
    process_key: str | None = None

    def where(self, element: etree._Element) -> tuple[int, int]:
        """Line and column of the element's start tag."""
        return self.locator.locate(element)

    def report(
        self,
        code: ProblemCode,
        description: str,
        element: etree._Element | None = None,
        *,
        warning: bool = False,
        activity_id: str | None = None,
    ) -> None:
        """Record a problem found while parsing, located at ``element``."""
        line, column = self.where(element) if element is not None else (0, 0)
        if activity_id is None and element is not None:
            activity_id = element.get("id")
        name = element.get("name") if element is not None else None
        self.problems.append(
            Problem(code, description, activity_id, name, self.process_key, line, column, warning)
        )

    def claim_id(
        self, element: etree._Element, *, generate: bool = False, quiet: bool = False
    ) -> str | None:
        """The element's id, or ``None`` (with a problem) when missing or already used.

        With ``generate``, a missing id is replaced by ``_<tag>_<line>`` (Flowable's own test
        files omit the ids of sequence flows and even of sub-processes), with a warning
        unless ``quiet``.
        """
        ident = (element.get("id") or "").strip()
        tag = local_name(element)
        if not ident and generate:
            ident = f"_{tag}_{element.sourceline or 0}"
            while ident in self.seen_ids:
                ident += "_"
            if not quiet:
                self.report(
                    ProblemCode.MALFORMED_ELEMENT,
                    f"<{tag}> has no id attribute; it is called '{ident}'",
                    element,
                    warning=True,
                    activity_id=ident,
                )
        elif not ident:
            self.report(
                ProblemCode.MALFORMED_ELEMENT,
                f"<{tag}> has no id attribute; the element is ignored",
                element,
            )
            return None
        elif ident in self.seen_ids:
            self.report(
                ProblemCode.DUPLICATE_ID,
                f"the id '{ident}' is used more than once; this <{tag}> is ignored",
                element,
            )
            return None
        self.seen_ids.add(ident)
        return ident
