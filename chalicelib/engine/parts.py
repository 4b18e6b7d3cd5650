"""Small value objects shared by several element kinds: listeners, fields, forms, loops."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "FieldExtension",
    "Listener",
    "FormValue",
    "FormProperty",
    "CallMapping",
    "MultiInstance",
    "StandardLoop",
    "LoopCharacteristics",
    "DataObject",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldExtension:
    """``<flowable:field name=.. stringValue|expression>`` (also the nested element forms)."""

    name: str
    string_value: str | None = None
    expression: str | None = None
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Listener:
    """An execution listener (events start/end/take) or a task listener
    (create/assignment/complete/delete); exactly one implementation is expected."""

    event: str | None = None
    class_name: str | None = None
    expression: str | None = None
    delegate_expression: str | None = None
    type: str | None = None
    fields: tuple[FieldExtension, ...] = ()
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class FormValue:
    """One enum value of a form property: ``<flowable:value id=".." name=".."/>``."""

    id: str
    name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FormProperty:
    """``<flowable:formProperty>`` (and Camunda's ``<camunda:formField>``, mapped to it)."""

    id: str
    name: str | None = None
    type: str | None = None
    expression: str | None = None
    variable: str | None = None
    default: str | None = None
    date_pattern: str | None = None
    readable: bool = True
    writable: bool = True
    required: bool = False
    values: tuple[FormValue, ...] = ()
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CallMapping:
    """``<flowable:in>`` / ``<flowable:out>`` of a call activity."""

    source: str | None = None
    source_expression: str | None = None
    target: str | None = None
    target_expression: str | None = None
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class MultiInstance:
    """``multiInstanceLoopCharacteristics`` (Flowable attributes and the BPMN child elements)."""

    is_sequential: bool = False
    loop_cardinality: str | None = None
    collection: str | None = None
    element_variable: str | None = None
    element_index_variable: str | None = None
    completion_condition: str | None = None
    loop_data_input_ref: str | None = None
    input_data_item: str | None = None
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class StandardLoop:
    """``standardLoopCharacteristics`` (Flowable ignores it; we refuse it for now)."""

    loop_condition: str | None = None
    loop_maximum: str | None = None
    test_before: bool = False
    line: int = 0
    column: int = 0


LoopCharacteristics = MultiInstance | StandardLoop


@dataclass(frozen=True, slots=True, kw_only=True)
class DataObject:
    """``<dataObject id name itemSubjectRef>`` with its ``<flowable:value>``: a variable of
    its scope (the process or the sub-process) created when the scope starts. ``value`` is
    already typed (``xsd:string``, ``int``, ``long``, ``double``, ``boolean``; ``datetime``
    as ISO-8601 UTC text), None without a value."""

    id: str
    name: str | None = None
    item_subject_ref: str = "xsd:string"
    value: Any = None
    line: int = 0
    column: int = 0
