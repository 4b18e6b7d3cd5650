"""The per-process problem collector used by the validator, and its expression checks."""

from __future__ import annotations

from chalicelib.engine.expressions import JuelSyntaxError, has_expression, parse_template
from chalicelib.engine.expressions.ast import FunctionCall, Identifier, MethodCall, Property, walk
from chalicelib.engine.model import Definitions, ProcessDefinitionModel
from chalicelib.engine.problems import Problem, ProblemCode

__all__ = ["ProcessChecker", "JAVA_METHODS", "JAVA_ROOTS"]

#: Method names that only make sense on Java objects: reflection, class loading, engine internals.
JAVA_METHODS = frozenset(
    {
        "getClass",
        "forName",
        "newInstance",
        "getRuntime",
        "getDeclaredMethod",
        "getMethod",
        "getDeclaredField",
        "invoke",
        "loadClass",
        "getClassLoader",
        "getProcessEngineConfiguration",
        "getEngineServices",
        "getProcessEngineServices",
        "getApplicationContext",
        "getBean",
    }
)
#: Root names of fully qualified Java classes (``${java.lang.System...}``).
JAVA_ROOTS = frozenset({"java", "javax", "jdk", "sun"})


class ProcessChecker:
    """Collects the problems of one process (or of the document, with ``process=None``)."""

    def __init__(self, definitions: Definitions, process: ProcessDefinitionModel | None):
        self.definitions = definitions
        self.process = process
        self.problems: list[Problem] = []

    @property
    def model(self) -> ProcessDefinitionModel:
        """The process being checked: the process and element rules run only with one (a
        document-level checker has none, and asking it is a programming error)."""
        if self.process is None:
            raise RuntimeError("a document-level checker has no process")
        return self.process

    def add(
        self,
        code: ProblemCode,
        description: str,
        node: object = None,
        *,
        at: object = None,
        warning: bool = False,
    ) -> None:
        """Record a problem about ``node`` (an element or flow), located at ``at`` or the node."""
        place = at if at is not None else node
        self.problems.append(
            Problem(
                code,
                description,
                getattr(node, "id", None),
                getattr(node, "name", None),
                self.process.key if self.process else None,
                getattr(place, "line", 0) or 0,
                getattr(place, "column", 0) or 0,
                warning,
            )
        )

    def expression(self, text: str | None, node: object, what: str, *, at: object = None) -> bool:
        """Check that ``text`` (literal text and ``${...}`` parts) parses; False if it does not.

        Also refuses expressions that reach for Java (reflection, class names), the part of
        "Java beans in expressions" that can be recognised without running them.
        """
        if text is None:
            return True
        try:
            template = parse_template(text)
        except JuelSyntaxError as exc:
            self.add(
                ProblemCode.EXPRESSION_SYNTAX,
                f"invalid expression in {what} '{_short(text)}': {exc.reason} "
                f"(character {exc.position + 1})",
                node,
                at=at,
            )
            return False
        for expression in template.expressions:
            for item in walk(expression):
                java = None
                if isinstance(item, MethodCall) and item.name in JAVA_METHODS:
                    java = f"the Java method {item.name}()"
                elif (
                    isinstance(item, Property)
                    and isinstance(item.target, Identifier)
                    and item.target.name in JAVA_ROOTS
                ):
                    java = f"the Java package {item.target.name}.{item.name}"
                elif isinstance(item, FunctionCall) and item.prefix in JAVA_ROOTS:
                    java = f"the Java function {item.prefix}:{item.name}"
                if java:
                    self.add(
                        ProblemCode.UNSUPPORTED_JAVA_EXPRESSION,
                        f"{what} '{_short(text)}' uses {java}: Java objects are not "
                        "available in this engine",
                        node,
                        at=at,
                    )
                    return False
        return True

    def expressions(
        self, node: object, pairs: list[tuple[str, str | None]], *, at: object = None
    ) -> None:
        """Check several ``(what, text)`` expression values of one node."""
        for what, text in pairs:
            self.expression(text, node, what, at=at)

    @staticmethod
    def is_expression(text: str | None) -> bool:
        """True when a value contains ``${`` or ``#{`` (it is evaluated, not read as is)."""
        return has_expression(text)


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
