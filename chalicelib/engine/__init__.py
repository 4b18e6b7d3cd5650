"""Pure BPMN engine: parse, validate (execution comes later). No AWS, no HTTP, no framework.

Public entry points::

    from chalicelib.engine import parse_bpmn, validate, validate_bpmn
"""
from chalicelib.engine.model import Definitions, ProcessDefinitionModel
from chalicelib.engine.parser import parse_bpmn
from chalicelib.engine.problems import BpmnSyntaxError, Problem, ProblemCode
from chalicelib.engine.validate import ValidationReport, validate, validate_bpmn

__all__ = ["parse_bpmn", "validate", "validate_bpmn", "ValidationReport", "Definitions",
           "ProcessDefinitionModel", "Problem", "ProblemCode", "BpmnSyntaxError"]
