"""What a script's text allows: the variables it can reach, whether it may share a context,
and which variables can be bound as globals (text checks only; no interpreter needed)."""

from __future__ import annotations

import functools
import json
import re

__all__ = ["referenced_variables", "is_poolable", "bindable", "words", "IDENTIFIER"]

IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_RESERVED = frozenset(
    """
    arguments await break case catch class const continue debugger default delete do else enum
    eval export extends false finally for function if implements import in instanceof interface
    let new null package private protected public return static super switch this throw true
    try typeof undefined var void while with yield NaN Infinity
""".split()
)


@functools.lru_cache(maxsize=4096)
def bindable(name: str) -> bool:
    """True when a variable can also be bound as a global of that name."""
    return (
        IDENTIFIER.fullmatch(name) is not None
        and name not in _RESERVED
        and not name.startswith("__wf")
    )


# --- variables a script can reach, and scripts that may share a context --------------------

_READERS = re.compile(
    r"\b(?:getVariable|getVariableLocal|hasVariable|hasVariableLocal)\b"
    r"""(\s*\(\s*(['"])([^'"\\\n]*)\2\s*\))?"""
)
_DYNAMIC_NAMES = frozenset(
    {
        "getVariables",
        "this",
        "globalThis",
        "eval",
        "Function",
        "constructor",
        "Reflect",
        "Proxy",
        "with",
    }
)
#: ``execution`` not followed by ``.name`` (aliased, destructured, computed access)
_EXECUTION_OTHERWISE = re.compile(r"\bexecution\b(?!\s*\.\s*[A-Za-z_$])")


@functools.lru_cache(maxsize=1024)
def referenced_variables(source: str) -> frozenset[str] | None:
    """Names of the variables a script can reach, or None when it may reach any.

    Over-approximates: every identifier-like word of the text (comments and strings included)
    plus the literal names given to ``execution.getVariable`` and the other readers. None when
    the script may compute a name (see the package docs).
    """
    if "\\" in source or _EXECUTION_OTHERWISE.search(source):
        return None
    found = set(IDENTIFIER.findall(source))
    if found & _DYNAMIC_NAMES:
        return None
    for match in _READERS.finditer(source):
        if match.group(1) is None:  # a reader called with a computed name, or passed around
            return None
        found.add(match.group(3))
    return frozenset(found)


#: Words that reach or alter shared built-ins (or leave work behind) without assignment syntax.
_UNPOOLABLE_WORDS = frozenset(
    """
    Object Reflect Proxy Symbol Function eval globalThis this prototype __proto__ constructor
    call apply bind delete async await import then Promise RegExp Error WeakRef
    FinalizationRegistry Atomics SharedArrayBuffer __date_clock __defineGetter__
    __defineSetter__ __lookupGetter__ __lookupSetter__ defineProperty defineProperties
    setPrototypeOf getPrototypeOf assign freeze seal preventExtensions with arguments
""".split()
)
_ASSIGN = r"(?:\*\*|<<|>>>?|&&|\|\||\?\?|[-+*/%&|^])?=(?![=>])"
#: an assignment (or ++/--, for-in/of target, destructuring) whose target is a member
_MEMBER_WRITE = re.compile(
    r"(?:[.\]]\s*[A-Za-z_$]?[\w$]*|\})\s*"
    + _ASSIGN
    + r"|[.\]]\s*[\w$]*\s*(?:\+\+|--)"
    + r"|(?:\+\+|--)\s*[\w$.\s\[\]]*[.\[]"
    + r"|[.\]]\s*[\w$]*\s+(?:in|of)\b"
)


@functools.lru_cache(maxsize=1024)
def is_poolable(source: str) -> bool:
    """True when a script can run in a shared context without altering what the next script
    sees (conservative: a false answer only costs a fresh context)."""
    if "\\" in source:
        return False
    if set(IDENTIFIER.findall(source)) & _UNPOOLABLE_WORDS:
        return False
    return _MEMBER_WRITE.search(source) is None


@functools.lru_cache(maxsize=1024)
def words(source: str) -> str:
    """The identifier-like words of a script, as a JSON list (what ``__wf_end`` checks)."""
    return json.dumps(sorted(set(IDENTIFIER.findall(source))))
