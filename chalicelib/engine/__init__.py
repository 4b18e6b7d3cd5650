"""Pure BPMN engine: parse, validate and execute. No AWS, no HTTP, no framework.

Public entry points::

    from chalicelib.engine import parse_bpmn, validate, validate_bpmn
    from chalicelib.engine.runtime import Session, StartProcess, ...

Names are loaded on first use (PEP 562), so importing a small part of the engine (a record
type, the expression syntax) does not load the parser, the validator and lark.
"""
from __future__ import annotations

import importlib
from typing import Any

_MODULE_OF = {
    "Definitions": "model", "ProcessDefinitionModel": "model",
    "parse_bpmn": "parser",
    "BpmnSyntaxError": "problems", "Problem": "problems", "ProblemCode": "problems",
    "ValidationReport": "validate", "validate": "validate", "validate_bpmn": "validate",
}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
