"""The name of a definition's diagram image, as Flowable gives it (``ResourceNameUtil``), and
the stored definition record as the API shows it.

A process with diagram interchange has ``processDiagramResourceName`` set to the name of the
PNG Flowable generates at deploy, ``<resource base>.<process key>.png`` (DECISIONS.md);
``record_of`` gives it to records stored before deploys set it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["BPMN_SUFFIXES", "resource_base", "generated_diagram_name", "record_of"]

#: File names deployed as BPMN (everything else is a plain resource: forms, scripts, images).
BPMN_SUFFIXES = (".bpmn20.xml", ".bpmn")


def resource_base(resource_name: str) -> str:
    """``contractorOnboarding.bpmn20.xml`` -> ``contractorOnboarding`` (Flowable's
    ``stripBpmnFileSuffix``)."""
    for suffix in BPMN_SUFFIXES:
        if resource_name.endswith(suffix):
            return resource_name[: -len(suffix)]
    return resource_name


def generated_diagram_name(resource_name: str, key: str) -> str:
    """The name of the PNG Flowable generates from diagram interchange at deploy."""
    return f"{resource_base(resource_name)}.{key}.png"


def record_of(data: Mapping[str, Any]) -> dict[str, Any]:
    """A stored definition record as the API shows it: one with diagram interchange and no
    diagram name (deployed before deploys set it) gets the generated image's name."""
    record = dict(data)
    if not record.get("processDiagramResourceName") and record.get("graphicalNotationDefined"):
        record["processDiagramResourceName"] = generated_diagram_name(
            str(record.get("resourceName") or ""), str(record.get("key") or "")
        )
    return record
