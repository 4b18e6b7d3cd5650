"""Syntax parser for the JUEL subset of ``bpmn-semantics.md`` §1.9 (no evaluation here).

``parse_template("kermit_${loopCounter}")`` returns an immutable
:class:`~chalicelib.engine.expressions.ast.Template`. The expression grammar is LALR(1), built
with Lark once, lazily, and tree nodes are made by an inline transformer during the parse, so
no step recurses over the input: very deep parentheses cost memory, not the stack.

Composite templates: text outside ``${...}`` / ``#{...}`` is literal; ``\\${`` and ``\\#{``
stand for a literal ``${`` / ``#{``. An expression ends at the first ``}`` outside a string
literal (JUEL has no braces inside expressions).

Notes:

- ``prefix:name(...)`` is a function call only when written without spaces around the ``:``
  and followed by ``(`` (``variables:get(x)``); this is how ``a ? b : c`` stays a ternary.
- JUEL's reserved words (``and or not eq ne lt gt le ge div mod empty true false null``) are
  keywords, never identifiers.
- In strings, ``\\'``, ``\\"`` and ``\\\\`` are escapes; any other backslash stays as written.
"""

from __future__ import annotations

import functools
import threading

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from chalicelib.engine.expressions.ast import (
    Binary,
    Conditional,
    Eval,
    FunctionCall,
    Identifier,
    Index,
    Literal,
    MethodCall,
    Property,
    Template,
    Text,
    Unary,
)

__all__ = ["JuelSyntaxError", "parse_template", "parse_expression", "MAX_TEMPLATE_LENGTH"]

#: Longer attribute values are refused (a guard, far above anything written by hand).
MAX_TEMPLATE_LENGTH = 100_000

_GRAMMAR = r"""
?start: ternary

?ternary: or_expr
        | or_expr QMARK ternary COLON ternary -> conditional

?or_expr: and_expr
        | or_expr (OR_SYM | OR_KW) and_expr -> binary
?and_expr: eq_expr
         | and_expr (AND_SYM | AND_KW) eq_expr -> binary
?eq_expr: rel_expr
        | eq_expr (EQ_SYM | NE_SYM | EQ_KW | NE_KW) rel_expr -> binary
?rel_expr: add_expr
         | rel_expr (LE_SYM | GE_SYM | LT_SYM | GT_SYM | LT_KW | GT_KW | LE_KW | GE_KW) add_expr -> binary
?add_expr: mul_expr
         | add_expr (PLUS | MINUS) mul_expr -> binary
?mul_expr: unary
         | mul_expr (STAR | SLASH | PERCENT | DIV_KW | MOD_KW) unary -> binary
?unary: postfix
      | (BANG | NOT_KW | MINUS | EMPTY_KW) unary -> unary
?postfix: primary
        | postfix "." NAME -> property
        | postfix "." NAME "(" arguments ")" -> method
        | postfix "[" ternary "]" -> index
?primary: INT -> integer
        | FLOAT -> decimal
        | STRING -> string
        | TRUE_KW -> true
        | FALSE_KW -> false
        | NULL_KW -> null
        | NAME -> identifier
        | PREFIXED_NAME "(" arguments ")" -> function
        | NAME "(" arguments ")" -> function
        | "(" ternary ")"
arguments: [ternary ("," ternary)*]

QMARK: "?"
COLON: ":"
OR_SYM: "||"
AND_SYM: "&&"
EQ_SYM: "=="
NE_SYM: "!="
LE_SYM: "<="
GE_SYM: ">="
LT_SYM: "<"
GT_SYM: ">"
PLUS: "+"
MINUS: "-"
STAR: "*"
SLASH: "/"
PERCENT: "%"
BANG: "!"
OR_KW: "or"
AND_KW: "and"
NOT_KW: "not"
EQ_KW: "eq"
NE_KW: "ne"
LT_KW: "lt"
GT_KW: "gt"
LE_KW: "le"
GE_KW: "ge"
DIV_KW: "div"
MOD_KW: "mod"
EMPTY_KW: "empty"
TRUE_KW: "true"
FALSE_KW: "false"
NULL_KW: "null"
PREFIXED_NAME.2: /(?!\d)[\w$]+:(?!\d)[\w$]+(?=\s*\()/
NAME: /(?!\d)[\w$]+/
FLOAT.2: /\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+/
INT: /\d+/
STRING: /'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/s

%ignore /\s+/
"""

_OPERATORS = {
    "or": "||",
    "and": "&&",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "div": "/",
    "mod": "%",
    "not": "!",
}

_READABLE = {
    "RPAR": "')'",
    "LPAR": "'('",
    "RSQB": "']'",
    "LSQB": "'['",
    "COMMA": "','",
    "DOT": "'.'",
    "COLON": "':'",
    "QMARK": "'?'",
    "$END": "end of expression",
}


class JuelSyntaxError(ValueError):
    """An expression that does not parse; ``position`` is the 0-based offset in the text."""

    def __init__(self, message: str, text: str, position: int):
        self.text = text
        self.position = max(0, min(position, len(text)))
        self.line = text.count("\n", 0, self.position) + 1
        self.column = self.position - (text.rfind("\n", 0, self.position) + 1) + 1
        self.reason = message
        super().__init__(f"{message} at position {self.position}")


@v_args(inline=True)
class _Build(Transformer):
    """Makes AST nodes during LALR reductions (inline: no recursion over a finished tree)."""

    def conditional(self, test, _q, then, _c, otherwise):
        return Conditional(test, then, otherwise, test.pos)

    def binary(self, left, op, right):
        return Binary(_OPERATORS.get(op.value, op.value), left, right, op.start_pos)

    def unary(self, op, operand):
        name = op.value if op.value in ("-", "empty") else "!"
        return Unary(name, operand, op.start_pos)

    def property(self, target, name):
        return Property(target, name.value, name.start_pos)

    def method(self, target, name, arguments):
        return MethodCall(target, name.value, arguments, name.start_pos)

    def index(self, target, key):
        return Index(target, key, target.pos)

    def function(self, name, arguments):
        prefix, _, local = name.value.rpartition(":")
        return FunctionCall(prefix, local, arguments, name.start_pos)

    def arguments(self, *args):
        return tuple(arg for arg in args if arg is not None)

    def identifier(self, name):
        return Identifier(name.value, name.start_pos)

    def integer(self, token):
        return Literal(int(token.value), token.start_pos)

    def decimal(self, token):
        return Literal(float(token.value), token.start_pos)

    def string(self, token):
        return Literal(_unescape(token.value[1:-1]), token.start_pos)

    def true(self, token):
        return Literal(True, token.start_pos)

    def false(self, token):
        return Literal(False, token.start_pos)

    def null(self, token):
        return Literal(None, token.start_pos)


def _unescape(body: str) -> str:
    out, i = [], 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body) and body[i + 1] in "\\'\"":
            out.append(body[i + 1])
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


_lock = threading.Lock()
_parser: Lark | None = None


def _lark() -> Lark:
    global _parser
    if _parser is None:
        with _lock:
            if _parser is None:
                _parser = Lark(
                    _GRAMMAR,
                    parser="lalr",
                    lexer="contextual",
                    transformer=_Build(),
                    maybe_placeholders=True,
                )
    return _parser


def _parse_segment(text: str, start: int, end: int):
    """Parse ``text[start:end]`` as one expression; node positions are offsets in ``text``."""
    segment = text[start:end]
    if not segment.strip():
        raise JuelSyntaxError("empty expression", text, start)
    # Padding keeps Lark's offsets equal to offsets in the whole text.
    try:
        return _lark().parse(" " * start + segment)
    except UnexpectedInput as exc:
        raise _translate(exc, text, end) from None


def _translate(exc: UnexpectedInput, text: str, end: int) -> JuelSyntaxError:
    if isinstance(exc, UnexpectedCharacters) and exc.pos_in_stream is not None:
        position = exc.pos_in_stream
        return JuelSyntaxError(f"unexpected character {text[position]!r}", text, position)
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        expected = _expected(getattr(exc, "expected", ()))
        return JuelSyntaxError(f"unexpected end of expression{expected}", text, end)
    if isinstance(exc, UnexpectedToken):
        token: Token = exc.token
        return JuelSyntaxError(
            f"unexpected {token.value!r}{_expected(exc.expected)}", text, token.start_pos or 0
        )
    return JuelSyntaxError("invalid expression", text, end)  # pragma: no cover


def _expected(names) -> str:
    shown = sorted(
        _READABLE.get(name, name.lower().removesuffix("_kw").removesuffix("_sym")) for name in names
    )
    if not shown or len(shown) > 8:
        return ""
    return "; expected " + " or ".join(shown)


def _find_close(text: str, pos: int) -> int:
    """Index of the ``}`` closing an expression whose body starts at ``pos``, or -1."""
    quote = None
    i = pos
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "}":
            return i
        i += 1
    return -1


@functools.lru_cache(maxsize=4096)
def parse_template(text: str) -> Template:
    """Parse an attribute value: literal text mixed with ``${...}`` / ``#{...}`` expressions.

    Raises :class:`JuelSyntaxError` (with ``position``, ``line`` and ``column``) when an
    expression is malformed or unterminated. Results are cached: the AST is immutable.
    """
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise JuelSyntaxError(
            f"expression longer than {MAX_TEMPLATE_LENGTH} characters", text, MAX_TEMPLATE_LENGTH
        )
    parts: list[Text | Eval] = []
    literal: list[str] = []
    literal_start = 0
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and text[i + 1 : i + 3] in ("${", "#{"):
            literal.append(text[i + 1 : i + 3])
            i += 3
            continue
        if char in "$#" and text[i + 1 : i + 2] == "{":
            close = _find_close(text, i + 2)
            if close < 0:
                raise JuelSyntaxError(f"unterminated '{char}{{' (no closing '}}')", text, i)
            if literal:
                parts.append(Text("".join(literal), literal_start))
                literal = []
            parts.append(Eval(_parse_segment(text, i + 2, close), char == "#", i))
            i = close + 1
            literal_start = i
            continue
        literal.append(char)
        i += 1
    if literal:
        parts.append(Text("".join(literal), literal_start))
    return Template(text, tuple(parts))


def parse_expression(text: str):
    """Parse a bare expression (no ``${ }`` around it), e.g. a JUEL script body."""
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise JuelSyntaxError(
            f"expression longer than {MAX_TEMPLATE_LENGTH} characters", text, MAX_TEMPLATE_LENGTH
        )
    return _parse_segment(text, 0, len(text))
