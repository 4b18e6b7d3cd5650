"""JUEL subset: syntax tree and parser (evaluation comes with the executor)."""

from chalicelib.engine.expressions import ast
from chalicelib.engine.expressions.parser import (
    MAX_TEMPLATE_LENGTH,
    JuelSyntaxError,
    parse_expression,
    parse_template,
)

__all__ = [
    "ast",
    "JuelSyntaxError",
    "parse_template",
    "parse_expression",
    "MAX_TEMPLATE_LENGTH",
    "has_expression",
]


def has_expression(text: str | None) -> bool:
    """True when ``text`` contains a ``${`` or ``#{`` (so it is evaluated, not read literally)."""
    return text is not None and ("${" in text or "#{" in text)
