"""Immutable syntax tree of the JUEL subset (``bpmn-semantics.md`` §1.9).

A whole attribute value is a :class:`Template`: literal :class:`Text` parts and :class:`Eval`
parts (one per ``${...}`` or ``#{...}``). Operators are normalised at parse time: ``eq`` becomes
``==``, ``and`` becomes ``&&``, ``div`` becomes ``/`` and so on, so the evaluator sees one
spelling. ``pos`` is the 0-based offset of the node in the template text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "Node",
    "Literal",
    "Identifier",
    "Property",
    "Index",
    "MethodCall",
    "FunctionCall",
    "Unary",
    "Binary",
    "Conditional",
    "Text",
    "Eval",
    "Template",
    "walk",
    "BINARY_OPERATORS",
    "UNARY_OPERATORS",
]

#: Normalised binary operators.
BINARY_OPERATORS = frozenset(
    {"||", "&&", "==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%"}
)
#: Normalised unary operators: logical not, arithmetic negation, ``empty``.
UNARY_OPERATORS = frozenset({"!", "-", "empty"})


@dataclass(frozen=True, slots=True)
class Literal:
    """``'text'``, ``"text"``, ``42``, ``4.2``, ``true``, ``false`` or ``null``."""

    value: object
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Identifier:
    """A variable (or reserved name such as ``execution``), resolved at evaluation time."""

    name: str
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Property:
    """``target.name``: a map key or a whitelisted property."""

    target: Node
    name: str
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Index:
    """``target[key]``: a map key or a list index."""

    target: Node
    key: Node
    pos: int = 0


@dataclass(frozen=True, slots=True)
class MethodCall:
    """``target.name(args...)``."""

    target: Node
    name: str
    args: tuple[Node, ...] = ()
    pos: int = 0


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """``prefix:name(args...)`` (``variables:get(x)``); ``prefix`` is ``""`` for ``name(...)``."""

    prefix: str
    name: str
    args: tuple[Node, ...] = ()
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Unary:
    """``!x``, ``-x`` or ``empty x``."""

    op: str
    operand: Node
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Binary:
    """``left op right`` with a normalised operator (see :data:`BINARY_OPERATORS`)."""

    op: str
    left: Node
    right: Node
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Conditional:
    """``test ? then : otherwise``."""

    test: Node
    then: Node
    otherwise: Node
    pos: int = 0


Node = (
    Literal
    | Identifier
    | Property
    | Index
    | MethodCall
    | FunctionCall
    | Unary
    | Binary
    | Conditional
)


@dataclass(frozen=True, slots=True)
class Text:
    """Literal text of a composite template (escapes such as ``\\${`` already resolved)."""

    value: str
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Eval:
    """One ``${expr}`` (``deferred=False``) or ``#{expr}`` (``deferred=True``)."""

    expr: Node
    deferred: bool = False
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed attribute value: literal text and expressions, in order."""

    source: str
    parts: tuple[Text | Eval, ...]

    @property
    def is_literal(self) -> bool:
        """True when the value holds no expression at all (plain text)."""
        return all(isinstance(part, Text) for part in self.parts)

    @property
    def single_expression(self) -> Node | None:
        """The expression when the value is exactly one ``${...}`` (its value keeps its type)."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Eval):
            return self.parts[0].expr
        return None

    @property
    def expressions(self) -> tuple[Node, ...]:
        """Every expression of the template, in order."""
        return tuple(part.expr for part in self.parts if isinstance(part, Eval))


def walk(node: Node) -> Iterator[Node]:
    """Yield ``node`` and every node below it, depth first (iteratively: no recursion limit)."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, (Property, Unary)):
            stack.append(current.target if isinstance(current, Property) else current.operand)
        elif isinstance(current, Index):
            stack.extend((current.key, current.target))
        elif isinstance(current, MethodCall):
            stack.extend(reversed(current.args))
            stack.append(current.target)
        elif isinstance(current, FunctionCall):
            stack.extend(reversed(current.args))
        elif isinstance(current, Binary):
            stack.extend((current.right, current.left))
        elif isinstance(current, Conditional):
            stack.extend((current.otherwise, current.then, current.test))
