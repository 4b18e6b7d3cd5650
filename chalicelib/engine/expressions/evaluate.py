"""Safe evaluation of JUEL templates (``bpmn-semantics.md`` §1.9) over process variables.

``evaluate("${amount > 100}", scope)`` walks the syntax tree built by
:func:`~chalicelib.engine.expressions.parser.parse_template`. Nothing is ever handed to Python's
own evaluator and no attribute is looked up by a name taken from the expression: every call
goes through a whitelist table.

What an expression can reach:

- **identifiers**: ``scope.resolve(name)``. An undefined name is an error (as in Flowable), a
  ``ProcessFailure("expression", "Unknown property used in expression: ${...}")``.
- **execution** (when the scope has one): ``getVariable(n)``, ``getVariableLocal(n)``,
  ``hasVariable(n)``, ``hasVariableLocal(n)``, ``getVariables()``, ``setVariable(n, v)``,
  ``setVariableLocal(n, v)``, ``getProcessInstanceId()``, ``getId()``,
  ``getCurrentActivityId()``, ``getProcessBusinessKey()`` (also spelled
  ``getProcessInstanceBusinessKey()``), and the properties ``execution.id``,
  ``execution.processInstanceId``, ``execution.currentActivityId``,
  ``execution.processBusinessKey``. The engine implements :class:`ExecutionFacade`.
- **functions**: ``variables:`` / ``vars:`` / ``var:`` (see
  :mod:`~chalicelib.engine.expressions.functions`). Any other function is an error.
- **values**: map keys (``a.b``, ``a['b']``), list items (``a[0]``) and the value methods listed
  in :mod:`~chalicelib.engine.expressions.values`. Anything else (``getClass()``, bean methods,
  Java classes) is an error naming the method.

Operators follow JUEL: ``==`` coerces (``1 == '1'``), ``+`` is numeric only (``'a' + 'b'`` is an
error), ``/`` always gives a decimal, integers wrap like Java's ``long``, ``empty`` is true for
null, ``""``, ``[]`` and ``{}``. Guards: templates longer than :data:`MAX_TEXT_LENGTH` or nested
deeper than :data:`MAX_DEPTH` are refused with a clear error before evaluation starts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from chalicelib.engine.expressions import ast
from chalicelib.engine.expressions.functions import VARIABLE_PREFIXES, call_variable_function
from chalicelib.engine.expressions.parser import JuelSyntaxError, parse_template
from chalicelib.engine.expressions.values import (
    ExpressionError,
    arithmetic,
    call_method,
    compare,
    equals,
    get_index,
    get_property,
    is_empty,
    negate,
    to_boolean,
    to_double,
    to_long,
    to_string,
    type_name,
)
from chalicelib.errors import ProcessFailure

__all__ = [
    "UndefinedName",
    "ExecutionFacade",
    "Scope",
    "MappingScope",
    "compile_template",
    "evaluate",
    "evaluate_condition",
    "MAX_TEXT_LENGTH",
    "MAX_DEPTH",
]

#: Longest template text evaluated (attribute values are far shorter in practice).
MAX_TEXT_LENGTH = 16_384
#: Deepest expression tree evaluated (``((((a))))`` and long ``a || b || ...`` chains count).
MAX_DEPTH = 100


class UndefinedName(LookupError):
    """Raised by :meth:`Scope.resolve` when no variable of that name is visible."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(name)


class ExecutionFacade(Protocol):
    """What expressions may do with ``execution``; the engine's execution implements it."""

    def get_variable(self, name: str) -> Any: ...  # None when undefined
    def get_variable_local(self, name: str) -> Any: ...
    def has_variable(self, name: str) -> bool: ...
    def has_variable_local(self, name: str) -> bool: ...
    def get_variables(self) -> dict[str, Any]: ...
    def set_variable(self, name: str, value: Any) -> None: ...
    def set_variable_local(self, name: str, value: Any) -> None: ...
    def get_process_instance_id(self) -> str: ...
    def get_id(self) -> str: ...
    def get_current_activity_id(self) -> str | None: ...
    def get_process_business_key(self) -> str | None: ...


class Scope(Protocol):
    """The names an expression can see: variables, and the ``execution`` when there is one."""

    execution: ExecutionFacade | None

    def resolve(self, name: str) -> Any:
        """The value of variable ``name``; raises :class:`UndefinedName` when it is absent."""
        ...


class MappingScope:
    """A :class:`Scope` over a plain dict of variables (and optionally an execution)."""

    def __init__(self, variables: Mapping[str, Any], execution: ExecutionFacade | None = None):
        self.variables = variables
        self.execution = execution

    def resolve(self, name: str) -> Any:
        """The variable's value; :class:`UndefinedName` when the dict has no such key."""
        try:
            return self.variables[name]
        except KeyError:
            raise UndefinedName(name) from None


# --- parsing, limits and the cache ----------------------------------------------------------


def _children(node: ast.Node) -> tuple[ast.Node, ...]:
    if isinstance(node, ast.Property):
        return (node.target,)
    if isinstance(node, ast.Index):
        return (node.target, node.key)
    if isinstance(node, ast.MethodCall):
        return (node.target, *node.args)
    if isinstance(node, ast.FunctionCall):
        return node.args
    if isinstance(node, ast.Unary):
        return (node.operand,)
    if isinstance(node, ast.Binary):
        return (node.left, node.right)
    if isinstance(node, ast.Conditional):
        return (node.test, node.then, node.otherwise)
    return ()


def _depth(node: ast.Node) -> int:
    """Height of the tree, computed without recursion."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in _children(current))
    return deepest


@functools.lru_cache(maxsize=2048)
def compile_template(text: str) -> ast.Template:
    """Parse ``text`` and check the limits; cached by text (the tree is immutable).

    Raises :class:`~chalicelib.engine.expressions.parser.JuelSyntaxError` for a malformed
    template, one longer than :data:`MAX_TEXT_LENGTH`, or one nested deeper than
    :data:`MAX_DEPTH`. Validation can call this at deploy time to report the same problems.
    """
    if len(text) > MAX_TEXT_LENGTH:
        raise JuelSyntaxError(
            f"expression longer than {MAX_TEXT_LENGTH} characters", text, MAX_TEXT_LENGTH
        )
    template = parse_template(text)
    for part in template.parts:
        if isinstance(part, ast.Eval) and _depth(part.expr) > MAX_DEPTH:
            raise JuelSyntaxError(
                f"expression nested more than {MAX_DEPTH} levels deep", text, part.pos
            )
    return template


# --- the execution object -------------------------------------------------------------------


class _ExecutionRef:
    """``execution`` inside an expression: only the whitelisted methods below reach it."""

    __slots__ = ("facade",)

    def __init__(self, facade: ExecutionFacade):
        self.facade = facade


def _name_arg(value: Any, method: str) -> str:
    if not isinstance(value, str):
        raise ExpressionError(
            f"execution.{method}() needs a variable name (String), got {type_name(value)}"
        )
    return value


def _data(value: Any, what: str) -> Any:
    if isinstance(value, _ExecutionRef):
        raise ExpressionError(f"execution cannot be used as {what}")
    return value


_EXECUTION_METHODS: dict[str, tuple[int, Callable[..., Any]]] = {
    "getVariable": (1, lambda ex, n: ex.get_variable(_name_arg(n, "getVariable"))),
    "getVariableLocal": (1, lambda ex, n: ex.get_variable_local(_name_arg(n, "getVariableLocal"))),
    "hasVariable": (1, lambda ex, n: ex.has_variable(_name_arg(n, "hasVariable"))),
    "hasVariableLocal": (1, lambda ex, n: ex.has_variable_local(_name_arg(n, "hasVariableLocal"))),
    "getVariables": (0, lambda ex: dict(ex.get_variables())),
    "setVariable": (
        2,
        lambda ex, n, v: ex.set_variable(_name_arg(n, "setVariable"), _data(v, "a variable value")),
    ),
    "setVariableLocal": (
        2,
        lambda ex, n, v: ex.set_variable_local(
            _name_arg(n, "setVariableLocal"), _data(v, "a variable value")
        ),
    ),
    "getProcessInstanceId": (0, lambda ex: ex.get_process_instance_id()),
    "getId": (0, lambda ex: ex.get_id()),
    "getCurrentActivityId": (0, lambda ex: ex.get_current_activity_id()),
    "getProcessBusinessKey": (0, lambda ex: ex.get_process_business_key()),
    "getProcessInstanceBusinessKey": (0, lambda ex: ex.get_process_business_key()),
}

_EXECUTION_PROPERTIES: dict[str, str] = {
    "id": "getId",
    "processInstanceId": "getProcessInstanceId",
    "currentActivityId": "getCurrentActivityId",
    "processBusinessKey": "getProcessBusinessKey",
    "processInstanceBusinessKey": "getProcessBusinessKey",
}


def _call_execution(ref: _ExecutionRef, name: str, args: list[Any]) -> Any:
    entry = _EXECUTION_METHODS.get(name)
    if entry is None:
        raise ExpressionError(f"Method '{name}' is not allowed on execution")
    arity, function = entry
    if len(args) != arity:
        raise ExpressionError(f"execution.{name}() takes {arity} argument(s), got {len(args)}")
    return function(ref.facade, *args)


# --- the tree walker ------------------------------------------------------------------------


class _Evaluator:
    """Evaluates one template against one scope (depth is bounded by :func:`compile_template`)."""

    def __init__(self, scope: Scope):
        self.scope = scope

    def value(self, node: ast.Node) -> Any:
        return self._HANDLERS[type(node)](self, node)

    def _literal(self, node: ast.Literal) -> Any:
        return node.value

    def _identifier(self, node: ast.Identifier) -> Any:
        execution = getattr(self.scope, "execution", None)
        if node.name == "execution" and execution is not None:
            return _ExecutionRef(execution)
        return self.scope.resolve(node.name)

    def _property(self, node: ast.Property) -> Any:
        target = self.value(node.target)
        if isinstance(target, _ExecutionRef):
            method = _EXECUTION_PROPERTIES.get(node.name)
            if method is None:
                raise ExpressionError(f"Property '{node.name}' is not allowed on execution")
            return _call_execution(target, method, [])
        return get_property(target, node.name)

    def _index(self, node: ast.Index) -> Any:
        target = _data(self.value(node.target), "an indexed value")
        return get_index(target, _data(self.value(node.key), "an index"))

    def _method(self, node: ast.MethodCall) -> Any:
        target = self.value(node.target)
        args = [self.value(arg) for arg in node.args]
        if isinstance(target, _ExecutionRef):
            return _call_execution(target, node.name, args)
        return call_method(target, node.name, [_data(a, "an argument") for a in args])

    def _function(self, node: ast.FunctionCall) -> Any:
        shown = f"{node.prefix}:{node.name}" if node.prefix else node.name
        if node.prefix not in VARIABLE_PREFIXES:
            raise ExpressionError(f"Unknown function '{shown}'")
        if not node.args:
            raise ExpressionError(f"Function '{shown}' needs a variable name")
        first, rest = node.args[0], node.args[1:]
        if isinstance(first, ast.Identifier):
            name = first.name  # variables:get(myVar) names the variable, it does not read it
        else:
            name = self.value(first)
            if not isinstance(name, str):
                raise ExpressionError(
                    f"Function '{shown}' needs a variable name, got {type_name(name)}"
                )
        args = [_data(self.value(arg), "an argument") for arg in rest]
        return call_variable_function(node.name, self._lookup, name, args)

    def _lookup(self, name: str) -> tuple[bool, Any]:
        try:
            return True, self.scope.resolve(name)
        except UndefinedName:
            return False, None

    def _unary(self, node: ast.Unary) -> Any:
        operand = _data(self.value(node.operand), "an operand")
        if node.op == "!":
            return not to_boolean(operand)
        if node.op == "-":
            return negate(operand)
        return is_empty(operand)

    def _binary(self, node: ast.Binary) -> Any:
        op = node.op
        left = _data(self.value(node.left), "an operand")
        if op == "&&":
            return to_boolean(left) and to_boolean(_data(self.value(node.right), "an operand"))
        if op == "||":
            return to_boolean(left) or to_boolean(_data(self.value(node.right), "an operand"))
        right = _data(self.value(node.right), "an operand")
        if op == "==":
            return equals(left, right)
        if op == "!=":
            return not equals(left, right)
        if op in ("<", "<=", ">", ">="):
            return compare(op, left, right)
        return arithmetic(op, left, right)

    def _conditional(self, node: ast.Conditional) -> Any:
        chosen = node.then if to_boolean(self.value(node.test)) else node.otherwise
        return self.value(chosen)

    _HANDLERS: dict[type, Callable[[_Evaluator, Any], Any]] = {
        ast.Literal: _literal,
        ast.Identifier: _identifier,
        ast.Property: _property,
        ast.Index: _index,
        ast.MethodCall: _method,
        ast.FunctionCall: _function,
        ast.Unary: _unary,
        ast.Binary: _binary,
        ast.Conditional: _conditional,
    }


# --- public entry points --------------------------------------------------------------------

_COERCIONS: dict[Any, Callable[[Any], Any]] = {
    str: to_string,
    bool: to_boolean,
    int: to_long,
    float: to_double,
}


def _activity(scope: Scope, activity_id: str | None) -> str | None:
    if activity_id is not None:
        return activity_id
    execution = getattr(scope, "execution", None)
    return execution.get_current_activity_id() if execution is not None else None


def evaluate(
    template_or_text: str | ast.Template,
    scope: Scope,
    *,
    expected: type | None = None,
    activity_id: str | None = None,
) -> Any:
    """Evaluate a template against ``scope``.

    Parameters
    ----------
    template_or_text:
        Attribute text such as ``"${amount > 100}"`` or ``"kermit_${loopCounter}"`` (or a
        parsed :class:`~chalicelib.engine.expressions.ast.Template`).
    scope:
        Where identifiers (and ``execution``) come from.
    expected:
        ``None`` to keep the value's type, or ``str`` / ``bool`` / ``int`` / ``float`` to
        coerce the result by JUEL's rules.
    activity_id:
        Reported with a failure; defaults to the execution's current activity.

    Returns
    -------
    The raw value when the template is exactly one ``${...}``; otherwise the text with every
    expression converted to a string (null as ``""``, ``1.0`` as ``"1.0"``, ``true``).

    Raises
    ------
    ProcessFailure
        Of kind ``expression``, naming the expression, for an undefined name, a malformed or
        oversized template, a disallowed method or function, or a failed coercion.
    """
    if expected is not None and expected not in _COERCIONS:
        raise ValueError(f"expected must be None, str, bool, int or float, not {expected!r}")
    text = template_or_text if isinstance(template_or_text, str) else template_or_text.source
    try:
        template = compile_template(text)
        result = _evaluate(template, scope)
        return _COERCIONS[expected](result) if expected is not None else result
    except UndefinedName as exc:
        raise ProcessFailure(
            "expression",
            f"Unknown property used in expression: {text} (cannot resolve identifier '{exc.name}')",
            _activity(scope, activity_id),
        ) from None
    except JuelSyntaxError as exc:
        raise ProcessFailure(
            "expression", f"Invalid expression {_short(text)}: {exc}", _activity(scope, activity_id)
        ) from None
    except (ExpressionError, OverflowError, RecursionError) as exc:
        raise ProcessFailure(
            "expression",
            f"Error while evaluating expression: {text}: {exc}",
            _activity(scope, activity_id),
        ) from None


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."


def _evaluate(template: ast.Template, scope: Scope) -> Any:
    evaluator = _Evaluator(scope)
    single = template.single_expression
    if single is not None:
        return _data(evaluator.value(single), "a result")
    pieces = []
    for part in template.parts:
        if isinstance(part, ast.Text):
            pieces.append(part.value)
        else:
            pieces.append(to_string(_data(evaluator.value(part.expr), "text")))
    return "".join(pieces)


def evaluate_condition(text: str, scope: Scope, *, activity_id: str | None = None) -> bool:
    """Evaluate a sequence-flow or conditional-event condition; it must give a boolean.

    As in Flowable, the result is not coerced: ``'true'`` (a string) or null is an error, a
    ``ProcessFailure("expression", ...)`` naming the expression and what it gave.
    """
    result = evaluate(text, scope, activity_id=activity_id)
    if not isinstance(result, bool):
        shown = "null" if result is None else repr(to_string(result))
        raise ProcessFailure(
            "expression",
            f"Condition expression returns non-Boolean: {text} gave {shown} ({type_name(result)})",
            _activity(scope, activity_id),
        )
    return result
