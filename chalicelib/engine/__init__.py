"""Pure BPMN engine: parse, validate and execute. No AWS, no HTTP, no framework.

Public entry points::

    from chalicelib.engine import parse_bpmn, validate, validate_bpmn
    from chalicelib.engine.runtime import Session, StartProcess, ...

Names are loaded on first use (PEP 562), so importing a small part of the engine (a record
type, the expression syntax) does not load the parser, the validator and lark.
"""

from __future__ import annotations

from chalicelib.lazy import lazy_exports

_MODULE_OF = {
    "Definitions": "model",
    "ProcessDefinitionModel": "model",
    "parse_bpmn": "parser",
    "BpmnSyntaxError": "problems",
    "Problem": "problems",
    "ProblemCode": "problems",
    "ValidationReport": "validate",
    "validate": "validate",
    "validate_bpmn": "validate",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, globals(), _MODULE_OF)
