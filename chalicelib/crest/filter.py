"""The CREST ``_queryFilter`` language: parse, render, evaluate (api-reference.md §4.4).

Grammar (keywords and operators are case-insensitive; field pointers are case-sensitive)::

    Expr        = OrExpr
    OrExpr      = AndExpr ('or' AndExpr)*
    AndExpr     = NotExpr ('and' NotExpr)*
    NotExpr     = '!' PrimaryExpr | PrimaryExpr
    PrimaryExpr = '(' Expr ')' | Pointer Op Value | Pointer 'pr' | 'true' | 'false'
    Op          = eq | co | sw | lt | le | gt | ge | extended op matching [a-zA-Z_0-9.]+
    Value       = "double-quoted" | 'single-quoted' | true | false | number

Choices made where CREST is silent or loose (all tested):

* Tokens are separated by whitespace, parentheses and quotes. ``!`` is the NOT token only at the
  start of a token (``a!b`` is a field name).
* ``true``/``false`` in primary position is the literal when followed by the end, ``)``, ``and``
  or ``or``; otherwise it is a field name (``true eq 1``). Bare ``and``/``or`` are never field
  names: write ``/and``. The renderer always writes a leading ``/``, so this never bites.
* A backslash inside a string makes the next character literal (``\\"``, ``\\'``, ``\\\\``).
* Numbers: ``[+-]?digits`` is an int; with a ``.`` or an exponent it is a float. Underscores,
  ``NaN`` and ``Infinity`` are not numbers.
* At most 256 nested parentheses.
* Extended operators are accepted only when the caller names them (``extended_ops``); any other
  operator name is a 400 naming it. An accepted extended operator evaluates to false in
  :func:`matches` (the in-memory evaluator does not know its meaning).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn

from ..errors import BadRequest
from .pointer import MISSING, PointerError, Segments, format_pointer, parse_pointer, resolve

__all__ = [
    "QueryFilterError",
    "Node",
    "Constant",
    "Comparison",
    "Presence",
    "Not",
    "And",
    "Or",
    "STANDARD_OPS",
    "MAX_DEPTH",
    "parse",
    "render",
    "matches",
    "equality_terms",
    "conjunction_terms",
    "referenced_fields",
]

STANDARD_OPS = frozenset({"eq", "co", "sw", "lt", "le", "gt", "ge"})
MAX_DEPTH = 256

Value = str | int | float | bool


class QueryFilterError(BadRequest):
    """A ``_queryFilter`` that does not parse; ``position`` is a 0-based character offset."""

    def __init__(self, text: str, what: str, position: int):
        self.text = text
        self.what = what
        self.position = position
        super().__init__(
            f"The value '{text}' for parameter '_queryFilter' could not be parsed "
            f"as a valid query filter: {what} at position {position}"
        )


# --------------------------------------------------------------------------------------------
# AST: immutable, comparable, hashable.


@dataclass(frozen=True)
class Constant:
    """``true`` or ``false``."""

    value: bool


@dataclass(frozen=True)
class Comparison:
    """``field op value``; ``op`` is lower case. ``value_type`` makes ``1``, ``1.0`` and ``true``
    unequal as AST values (Python alone says ``1 == 1.0 == True``)."""

    field: Segments
    op: str
    value: Value
    value_type: str = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value_type", type(self.value).__name__)


@dataclass(frozen=True)
class Presence:
    """``field pr``: present and not null."""

    field: Segments


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Node = Constant | Comparison | Presence | Not | And | Or

# --------------------------------------------------------------------------------------------
# Tokenizer: lazy, so the leftmost fault is the one reported.

_WORD, _STRING, _LPAREN, _RPAREN, _NOT, _END = "word", "string", "(", ")", "!", "end"
_OP_RE = re.compile(r"[a-zA-Z_0-9.]+")
_INT_RE = re.compile(r"[+-]?[0-9]+")
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DELIMITERS = "()\"'"


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str  # raw text for words; decoded text for strings
    position: int


class _Tokenizer:
    def __init__(self, text: str):
        self.text = text
        self.index = 0
        self.buffer: list[_Token] = []

    def peek(self, ahead: int = 0) -> _Token:
        while len(self.buffer) <= ahead:
            self.buffer.append(self._scan())
        return self.buffer[ahead]

    def next(self) -> _Token:
        token = self.peek()
        self.buffer.pop(0)
        return token

    def _scan(self) -> _Token:
        text, index = self.text, self.index
        while index < len(text) and text[index].isspace():
            index += 1
        if index == len(text):
            self.index = index
            return _Token(_END, "", index)
        char = text[index]
        if char in "()!":
            self.index = index + 1
            return _Token(char, char, index)
        if char in "\"'":
            return self._scan_string(index, char)
        end = index
        while end < len(text) and not text[end].isspace() and text[end] not in _DELIMITERS:
            end += 1
        self.index = end
        return _Token(_WORD, text[index:end], index)

    def _scan_string(self, start: int, quote: str) -> _Token:
        text, index, out = self.text, start + 1, []
        while index < len(text):
            char = text[index]
            if char == "\\":
                if index + 1 == len(text):
                    raise QueryFilterError(text, "lone backslash at end of string", index)
                out.append(text[index + 1])
                index += 2
            elif char == quote:
                self.index = index + 1
                return _Token(_STRING, "".join(out), start)
            else:
                out.append(char)
                index += 1
        raise QueryFilterError(text, "unterminated string", start)


# --------------------------------------------------------------------------------------------
# Parser: recursive descent, two Python frames per parenthesis level.


class _Parser:
    def __init__(self, text: str, extended_ops: Collection[str]):
        self.text = text
        self.tokens = _Tokenizer(text)
        self.extended_ops = {op.lower() for op in extended_ops}

    def fail(self, what: str, position: int) -> NoReturn:
        raise QueryFilterError(self.text, what, position)

    def parse(self) -> Node:
        node = self.expr(0)
        token = self.tokens.peek()
        if token.kind != _END:
            self.fail(f"unexpected '{token.text}'", token.position)
        return node

    def expr(self, depth: int) -> Node:
        """OrExpr, with the AndExpr loop inlined to keep the recursion shallow."""
        disjuncts: list[Node] = []
        conjuncts = [self.unary(depth)]
        while True:
            keyword = self._keyword(self.tokens.peek())
            if keyword == "and":
                self.tokens.next()
                conjuncts.append(self.unary(depth))
            elif keyword == "or":
                self.tokens.next()
                disjuncts.append(_join(And, conjuncts))
                conjuncts = [self.unary(depth)]
            else:
                disjuncts.append(_join(And, conjuncts))
                return _join(Or, disjuncts)

    def unary(self, depth: int) -> Node:
        """NotExpr and PrimaryExpr."""
        token = self.tokens.next()
        if token.kind == _NOT:
            return Not(self.primary(self.tokens.next(), depth))
        return self.primary(token, depth)

    def primary(self, token: _Token, depth: int) -> Node:
        if token.kind == _LPAREN:
            if depth == MAX_DEPTH:
                self.fail(f"nesting deeper than {MAX_DEPTH} levels", token.position)
            node = self.expr(depth + 1)
            closing = self.tokens.next()
            if closing.kind != _RPAREN:
                self.fail("expected ')'", closing.position)
            return node
        keyword = self._keyword(token)
        if token.kind != _WORD or keyword in ("and", "or"):
            self.fail("expected a filter expression", token.position)
        if keyword in ("true", "false") and self._ends_primary(self.tokens.peek()):
            return Constant(keyword == "true")
        pointer = self._pointer(token)
        op_token = self.tokens.next()
        if op_token.kind != _WORD:
            self.fail("expected an operator", op_token.position)
        op = op_token.text.lower()
        if op == "pr":
            return Presence(pointer)
        if not _OP_RE.fullmatch(op):
            self.fail(f"invalid operator '{op_token.text}'", op_token.position)
        if op not in STANDARD_OPS and op not in self.extended_ops:
            self.fail(f"unsupported operator '{op_token.text}'", op_token.position)
        return Comparison(pointer, op, self._value(self.tokens.next()))

    def _pointer(self, token: _Token) -> Segments:
        try:
            return parse_pointer(token.text)
        except PointerError as exc:
            self.fail(exc.what, token.position + exc.offset)

    def _value(self, token: _Token) -> Value:
        if token.kind == _STRING:
            return token.text
        if token.kind != _WORD:
            self.fail("expected a value", token.position)
        word = token.text
        if word.lower() in ("true", "false"):
            return word.lower() == "true"
        if _INT_RE.fullmatch(word):
            return int(word)
        if _FLOAT_RE.fullmatch(word):
            return float(word)
        self.fail(f"invalid value '{word}'", token.position)

    def _ends_primary(self, token: _Token) -> bool:
        return token.kind in (_END, _RPAREN) or self._keyword(token) in ("and", "or")

    @staticmethod
    def _keyword(token: _Token) -> str | None:
        return token.text.lower() if token.kind == _WORD else None


def _join(kind, nodes: list[Node]) -> Node:
    return nodes[0] if len(nodes) == 1 else kind(tuple(nodes))


def parse(text: str, extended_ops: Collection[str] = ()) -> Node:
    """Parse a ``_queryFilter`` value into an immutable AST.

    Parameters
    ----------
    text:
        The decoded parameter value.
    extended_ops:
        Extended operator names (case-insensitive) the caller accepts besides the standard ones.

    Raises
    ------
    QueryFilterError
        (a ``BadRequest``) with the 0-based position of the first fault.
    """
    return _Parser(text, extended_ops).parse()


# --------------------------------------------------------------------------------------------
# Renderer: canonical text that parses back to an equal AST.

_UNRENDERABLE = re.compile(r"[\s()\"']")


def render(node: Node) -> str:
    """Canonical text of ``node``; ``parse(render(node)) == node`` for every parsed node."""
    if isinstance(node, Constant):
        return "true" if node.value else "false"
    if isinstance(node, Presence):
        return f"{_render_pointer(node.field)} pr"
    if isinstance(node, Comparison):
        return f"{_render_pointer(node.field)} {node.op} {_render_value(node.value)}"
    if isinstance(node, Not):
        return f"!({render(node.operand)})"
    if isinstance(node, And):
        return " and ".join(_wrap(child, (And, Or)) for child in node.operands)
    if isinstance(node, Or):
        return " or ".join(_wrap(child, (Or,)) for child in node.operands)
    raise TypeError(f"not a query filter node: {node!r}")


def _wrap(child: Node, kinds: tuple) -> str:
    text = render(child)
    return f"({text})" if isinstance(child, kinds) else text


def _render_pointer(segments: Segments) -> str:
    text = format_pointer(segments)
    if not segments or _UNRENDERABLE.search(text):
        raise ValueError(f"field {segments!r} cannot be written in a query filter")
    return text


def _render_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)  # always has a "." or an exponent, so it parses back as a float
        if not _FLOAT_RE.fullmatch(text):
            raise ValueError(f"{value!r} cannot be written in a query filter")
        return text
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


# --------------------------------------------------------------------------------------------
# Evaluator over JSON objects.


def matches(node: Node, obj: dict[str, Any]) -> bool:
    """Whether the JSON object ``obj`` satisfies the filter ``node``.

    A field holding a list matches when any element matches. ``eq`` and the ordering operators
    compare strings case-sensitively; ``co`` and ``sw`` on strings ignore case (as CREST's
    in-memory evaluator does) and fall back to equality for numbers and booleans. Ordering
    compares numbers with numbers, strings with strings and booleans with booleans; any other
    pairing is false. Missing and null fields match nothing but ``!``.
    """
    if isinstance(node, Constant):
        return node.value
    if isinstance(node, Presence):
        value = resolve(obj, node.field)
        return value is not MISSING and value is not None
    if isinstance(node, Comparison):
        test = _OPERATORS.get(node.op)
        if test is None:
            return False
        return any(test(value, node.value) for value in _values(obj, node.field))
    if isinstance(node, Not):
        return not matches(node.operand, obj)
    if isinstance(node, And):
        return all(matches(child, obj) for child in node.operands)
    if isinstance(node, Or):
        return any(matches(child, obj) for child in node.operands)
    raise TypeError(f"not a query filter node: {node!r}")


def _values(obj: dict[str, Any], segments: Segments) -> list[Any]:
    value = resolve(obj, segments)
    if value is MISSING or value is None:
        return []
    return value if isinstance(value, list) else [value]


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, Decimal)):  # Decimal: numbers read back from DynamoDB
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _comparable(actual: Any, expected: Any) -> bool:
    return _kind(actual) is not None and _kind(actual) == _kind(expected)


def _equal(actual: Any, expected: Any) -> bool:
    return _comparable(actual, expected) and actual == expected


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.lower() in actual.lower()
    return _equal(actual, expected)


def _starts_with(actual: Any, expected: Any) -> bool:
    if isinstance(expected, str) and isinstance(actual, str):
        return actual.lower().startswith(expected.lower())
    return _equal(actual, expected)


def _ordering(compare):
    return lambda actual, expected: _comparable(actual, expected) and compare(actual, expected)


_OPERATORS = {
    "eq": _equal,
    "co": _contains,
    "sw": _starts_with,
    "lt": _ordering(lambda a, b: a < b),
    "le": _ordering(lambda a, b: a <= b),
    "gt": _ordering(lambda a, b: a > b),
    "ge": _ordering(lambda a, b: a >= b),
}


# --------------------------------------------------------------------------------------------
# Helpers for the storage planner.


def equality_terms(node: Node) -> dict[str, Value]:
    """Top-level AND-ed ``eq`` terms on plain (one-segment) fields: ``{field: value}``.

    ``a eq 1 and (b eq "x" and c/d eq 2) and e gt 3`` gives ``{"a": 1, "b": "x"}``. A storage
    planner may serve one of them from an index; the full filter must still be evaluated on what
    the index returns. When a field appears twice, the first term wins. A filter that is not a
    conjunction (``or``, ``!``) gives ``{}`` unless it is itself a single equality term.
    """
    terms: dict[str, Value] = {}
    pending = [node]
    while pending:
        current = pending.pop(0)
        if isinstance(current, And):
            pending[0:0] = list(current.operands)
        elif isinstance(current, Comparison) and current.op == "eq" and len(current.field) == 1:
            terms.setdefault(current.field[0], current.value)
    return terms


def conjunction_terms(node: Node) -> dict[str, Value] | None:
    """The ``eq`` terms when the filter is nothing but them: ``{}`` for ``true``, ``{"a": 1, "b":
    "x"}`` for ``a eq 1 and b eq "x"``; None for anything else (another operator, ``or``, ``!``,
    ``false``, a nested field, a field compared twice). Such a filter selects exactly the items
    whose fields equal the terms, so a count of an index partition keyed by them answers it."""
    terms: dict[str, Value] = {}
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, And):
            pending.extend(current.operands)
        elif isinstance(current, Constant) and current.value:
            continue
        elif (
            isinstance(current, Comparison)
            and current.op == "eq"
            and len(current.field) == 1
            and current.field[0] not in terms
        ):
            terms[current.field[0]] = current.value
        else:
            return None
    return terms


def referenced_fields(node: Node) -> set[Segments]:
    """Every field pointer the filter reads: ``a eq 1 or !(b/c pr)`` gives ``{("a",), ("b", "c")}``."""
    found: set[Segments] = set()
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, (Comparison, Presence)):
            found.add(tuple(current.field))
        elif isinstance(current, Not):
            pending.append(current.operand)
        elif isinstance(current, (And, Or)):
            pending.extend(current.operands)
    return found
