"""BPMN models (the workflow editor's drafts): create, read, update, delete, deploy.

A model is two items of one collection (``repositories.definitions`` docstring): the header (light
fields, listed through the ``kind-sort`` index, ``version`` = the revision) and the content
(``bpmnXML`` and ``resourceMap``, compressed and chunked by the storage layer when large). Both
change in one transaction conditioned on the header's version, so ``_rev`` is a real revision.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from ...clock import format_iso
from ...errors import BadRequest, ConcurrencyError, NotFound, PreconditionFailed
from ...ids import new_id
from ...storage.aggregate import retry_on_conflict
from ...storage.ports import Delete, Item, MustNotExist, Put, Table, VersionIs
from ..container import Services
from ..repositories import definitions as repo
from . import deploy as deployments

__all__ = [
    "StoredModel",
    "EDITABLE_FIELDS",
    "READ_ONLY_FIELDS",
    "HEAVY_FIELDS",
    "create_model",
    "read_model",
    "update_model",
    "delete_model",
    "deploy_model",
    "model_deployments",
    "model_listing",
    "template_bpmn",
    "check_model_id",
]

EDITABLE_FIELDS = ("name", "description", "bpmnXML", "resourceMap")
#: fields a client may send back unchanged (read-modify-write); never stored from the body
READ_ONLY_FIELDS = ("_id", "_rev", "createTime", "lastModified")
HEAVY_FIELDS = ("bpmnXML", "resourceMap")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,127}")


@dataclass(frozen=True)
class StoredModel:
    """A model as read: its JSON body and the stored items (for conditioned writes)."""

    body: dict[str, Any]
    header: Item
    content: Item | None

    @property
    def rev(self) -> str:
        return self.body["_rev"]


def check_model_id(model_id: str) -> str:
    """A client-chosen model id (PUT with ``If-None-Match: *``): 400 unless URL-safe."""
    if not _ID.fullmatch(model_id or ""):
        raise BadRequest(
            f"The model id '{model_id}' is not valid: use letters, digits, '.', "
            "'_', '~' and '-' (at most 128)"
        )
    return model_id


def _validated(body: Any, *, creating: bool) -> dict[str, Any]:
    """The editable fields of a request body; 400 naming any field at fault."""
    if not isinstance(body, dict):
        raise BadRequest(
            "The request could not be processed because the provided content is not a JSON object"
        )
    unknown = sorted(set(body) - set(EDITABLE_FIELDS) - set(READ_ONLY_FIELDS))
    if unknown:
        raise BadRequest(
            f"Unknown model field(s): {', '.join(unknown)}; a model accepts "
            f"{', '.join(EDITABLE_FIELDS)}"
        )
    fields = {name: body[name] for name in EDITABLE_FIELDS if name in body}
    if creating and "name" not in fields:
        raise BadRequest("The field 'name' is required")
    if "name" in fields and (not isinstance(fields["name"], str) or not fields["name"].strip()):
        raise BadRequest("The field 'name' must be a non-empty string")
    for name in ("description", "bpmnXML"):
        if fields.get(name) is not None and not isinstance(fields[name], str):
            raise BadRequest(f"The field '{name}' must be a string")
    resources = fields.get("resourceMap")
    if resources is not None:
        if not isinstance(resources, dict):
            raise BadRequest("The field 'resourceMap' must be an object of file name to text")
        for key, value in resources.items():
            deployments.check_resource_name(key)
            if not isinstance(value, str):
                raise BadRequest(f"resourceMap: the value of '{key}' must be a string")
    if not creating and not fields:
        raise BadRequest(f"No model field to update; a model accepts {', '.join(EDITABLE_FIELDS)}")
    return fields


def _process_key(name: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", name)
    key = words[0].lower() + "".join(w[:1].upper() + w[1:] for w in words[1:]) if words else ""
    return key if key[:1].isalpha() else f"process{key[:1].upper()}{key[1:]}"


def template_bpmn(name: str) -> str:
    """A new model's BPMN: one process, a start and an end event, with diagram interchange."""
    key = _process_key(name)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
             xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
             xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
             xmlns:flowable="http://flowable.org/bpmn"
             id="definitions_{key}" targetNamespace="http://flowable.org/bpmn">
  <process id="{key}" name="{escape(name, quote=True)}" isExecutable="true">
    <startEvent id="start" name="Start"/>
    <sequenceFlow id="flow1" sourceRef="start" targetRef="end"/>
    <endEvent id="end" name="End"/>
  </process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_{key}">
    <bpmndi:BPMNPlane id="BPMNPlane_{key}" bpmnElement="{key}">
      <bpmndi:BPMNShape id="BPMNShape_start" bpmnElement="start">
        <dc:Bounds x="100" y="100" width="36" height="36"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="BPMNShape_end" bpmnElement="end">
        <dc:Bounds x="250" y="100" width="36" height="36"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="BPMNEdge_flow1" bpmnElement="flow1">
        <di:waypoint x="136" y="118"/>
        <di:waypoint x="250" y="118"/>
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</definitions>
"""


def _body(header: Item, content: Item | None) -> dict[str, Any]:
    body = {"_id": header.data["_id"], "_rev": str(header.version or 1)}
    body.update((k, v) for k, v in header.data.items() if k != "_id")
    heavy = content.data if content is not None else {}
    body.update({name: heavy.get(name) for name in HEAVY_FIELDS})
    return body


def validate_model_bpmn(bpmn: str | bytes) -> dict[str, Any]:
    """The validation report of a BPMN document (``validate_bpmn``): every problem with its
    element, line and column. Nothing is stored."""
    from ...engine import validate_bpmn  # the engine loads only when a request needs it

    return validate_bpmn(bpmn).to_json()


def create_model(container: Services, body: Any, model_id: str | None = None) -> dict[str, Any]:
    """Store a new model; ``model_id`` given (PUT) and taken: 412. Returns the full model."""
    fields = _validated(body, creating=True)
    model_id = check_model_id(model_id) if model_id is not None else new_id()
    now = format_iso(container.clock.now())
    light = {
        "_id": model_id,
        "name": fields["name"],
        "description": fields.get("description"),
        "createTime": now,
        "lastModified": now,
    }
    heavy = {
        "bpmnXML": fields.get("bpmnXML") or template_bpmn(fields["name"]),
        "resourceMap": fields.get("resourceMap") or {},
    }
    header, content = repo.model_items(model_id, light, heavy, 1)
    try:
        container.store.transact(
            [Put(Table.REPOSITORY, header, MustNotExist()), Put(Table.REPOSITORY, content)]
        )
    except ConcurrencyError:
        raise PreconditionFailed(f"The model '{model_id}' already exists") from None
    return _body(header, content)


def read_model(container: Services, model_id: str) -> StoredModel:
    """The model with its content (one Query of its collection); 404 when unknown."""
    page = container.store.query(Table.REPOSITORY, repo.model_pk(model_id))
    items = {item.sk: item for item in page.items}
    header = items.get(repo.MODEL_SK)
    if header is None:
        raise NotFound(f"Model '{model_id}' not found")
    content = items.get(repo.CONTENT_SK)
    return StoredModel(_body(header, content), header, content)


def _check_rev(model: StoredModel, if_match: str | None) -> None:
    if if_match not in (None, "*") and if_match != model.rev:
        raise PreconditionFailed(f"The model revision is {model.rev}, not {if_match}")


def update_model(
    container: Services,
    model_id: str,
    body: Any,
    *,
    if_match: str | None = None,
    create_if_missing: bool = False,
) -> tuple[dict[str, Any], bool]:
    """Replace the fields given in ``body``; the others keep their values.

    Returns ``(model, created)``. ``if_match`` (a revision, or ``*``) that does not match: 412.
    Unknown model: 404, or created when ``create_if_missing`` (PUT without preconditions).
    """
    fields = _validated(body, creating=False)

    def attempt() -> tuple[dict[str, Any], bool]:
        try:
            model = read_model(container, model_id)
        except NotFound:
            if create_if_missing:
                return create_model(container, body, model_id), True
            raise
        _check_rev(model, if_match)
        light = {k: v for k, v in model.header.data.items()}
        light.update({k: v for k, v in fields.items() if k in ("name", "description")})
        light["lastModified"] = format_iso(container.clock.now())
        heavy = {name: model.body.get(name) for name in HEAVY_FIELDS}
        heavy.update({k: v for k, v in fields.items() if k in HEAVY_FIELDS})
        if heavy.get("resourceMap") is None:
            heavy["resourceMap"] = {}
        if not heavy.get("bpmnXML"):
            heavy["bpmnXML"] = template_bpmn(light["name"])
        version = int(model.header.version or 1)
        header, content = repo.model_items(model_id, light, heavy, version + 1)
        old_chunks = model.content.stored_chunks if model.content is not None else 0
        container.store.transact(
            [
                Put(Table.REPOSITORY, header, VersionIs(version), model.header.stored_chunks),
                Put(Table.REPOSITORY, content, replaces_chunks=old_chunks),
            ]
        )
        return _body(header, content), False

    if if_match not in (None, "*"):
        try:
            return attempt()
        except ConcurrencyError:
            raise PreconditionFailed(
                f"The model was modified concurrently; its revision is no longer {if_match}"
            ) from None
    return retry_on_conflict(attempt, attempts=3)


def delete_model(container: Services, model_id: str, *, if_match: str | None = None) -> dict:
    """Delete the model (its deployments stay); returns it as it was."""
    model = read_model(container, model_id)
    _check_rev(model, if_match)
    writes = [Delete.of(Table.REPOSITORY, model.header, VersionIs(int(model.header.version or 1)))]
    if model.content is not None:
        writes.append(Delete.of(Table.REPOSITORY, model.content))
    try:
        container.store.transact(writes)
    except ConcurrencyError:
        raise PreconditionFailed("The model was modified concurrently") from None
    return model.body


def _resource_name(model: Mapping[str, Any]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", model.get("name") or "").strip("._") or model["_id"]
    return f"{stem}.bpmn20.xml"


def deploy_model(container: Services, model_id: str) -> deployments.DeployResult:
    """Deploy the model's BPMN and resourceMap (duplicate filtering per model)."""
    model = read_model(container, model_id).body
    bpmn = model.get("bpmnXML") or template_bpmn(model["name"])
    return deployments.deploy(
        container,
        source=f"model:{model_id}",
        name=model["name"],
        bpmn={_resource_name(model): bpmn},
        resources=model.get("resourceMap") or {},
    )


def model_deployments(container: Services, model_id: str) -> dict[str, Any]:
    """``list_deployments``: every deployment made from the model (404 for an unknown model)."""
    read_model(container, model_id)
    found = deployments.list_deployments(container, f"model:{model_id}")
    ids = [definition for item in found for definition in item["processDefinitionIds"]]
    return {"processDefinitionIds": ids, "deployments": found}


def model_listing(container: Services, heavy: set[str]) -> Callable:
    """A ``QuerySource.fetch`` of models; ``heavy`` fields are read only when named."""
    store = container.store

    def shape(item: Item) -> dict[str, Any]:
        body = {"_id": item.data["_id"], "_rev": str(item.version or 1)}
        body.update((k, v) for k, v in item.data.items() if k != "_id")
        if heavy:
            content = store.get(Table.REPOSITORY, item.pk, repo.CONTENT_SK)
            data = content.data if content is not None else {}
            body.update({name: data.get(name) for name in heavy})
        return body

    return repo.listing(store, repo.MODEL, shape)
