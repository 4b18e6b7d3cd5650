"""Routes 18-25: ``model`` (BPMN models: create, read, update, delete, query, validate, deploy).

Administrators only (the default policy has no model rule for anyone else).
"""

from chalice import Blueprint

from ..crest.request import CrestRequest
from ..errors import BadRequest
from ..service.definitions import models
from ..service.querying import QuerySource, run_query
from .resource import CollectionResource, InstanceResource, RequestContext, Result
from .routing import WORKFLOW, route

__all__ = ["blueprint", "bpmn_of"]

blueprint = Blueprint(__name__)

#: the model's fields; ``bpmnXML`` and ``resourceMap`` only when named in ``_fields``
ITEM_FIELDS = frozenset({"_id", "_rev", "name", "description", "createTime", "lastModified"})
XML_TYPES = ("application/xml", "text/xml")


def _saved(model: dict, status: int = 200) -> Result:
    headers = {"ETag": f'"{model["_rev"]}"'}
    if status == 201:
        headers["Location"] = f"{WORKFLOW}/model/{model['_id']}"
    return Result(model, status=status, headers=headers)


def bpmn_of(request: CrestRequest) -> str:
    """The XML to validate: an XML body, or the ``bpmnXML`` field of a JSON body."""
    if request.raw_content is not None:
        return request.raw_content
    text = (request.content or {}).get("bpmnXML")
    if not isinstance(text, str):
        raise BadRequest(
            "The field 'bpmnXML' is required and must be a string (or send the "
            "XML itself with Content-Type: application/xml)"
        )
    return text


def _json_body(ctx: RequestContext) -> dict:
    if ctx.request.raw_content is not None:
        raise BadRequest("A model must be sent as a JSON object (Content-Type: application/json)")
    return ctx.body


class Models(CollectionResource):
    name = "model"
    content_types = ("application/json",) + XML_TYPES

    def query(self, ctx: RequestContext) -> Result:
        """Stored models; any ``_queryFilter``; sortable by ``createTime`` and other fields."""
        requested = {"/".join(field) for field in ctx.request.fields}
        heavy = {name for name in models.HEAVY_FIELDS if name in requested}
        source = QuerySource(fetch=models.model_listing(ctx.container, heavy), sortable=ITEM_FIELDS)
        return Result(
            run_query(
                ctx.request,
                source,
                max_page_size=ctx.container.settings.max_page_size,
                read_budget=ctx.container.settings.query_read_budget,
            )
        )

    def create(self, ctx: RequestContext) -> Result:
        return _saved(models.create_model(ctx.container, _json_body(ctx)), 201)

    def action_validate_bpmn(self, ctx: RequestContext) -> Result:
        return Result(models.validate_model_bpmn(bpmn_of(ctx.request)))


class Model(InstanceResource):
    name = "model"

    def read(self, ctx: RequestContext) -> Result:
        return _saved(models.read_model(ctx.container, ctx.ids["id"]).body)

    def create(self, ctx: RequestContext) -> Result:
        """PUT with ``If-None-Match: *``: create at this id; 412 when it exists."""
        return _saved(models.create_model(ctx.container, _json_body(ctx), ctx.ids["id"]), 201)

    def update(self, ctx: RequestContext) -> Result:
        model, created = models.update_model(
            ctx.container,
            ctx.ids["id"],
            _json_body(ctx),
            if_match=ctx.request.if_match,
            create_if_missing=ctx.request.upsert,
        )
        return _saved(model, 201 if created else 200)

    def delete(self, ctx: RequestContext) -> Result:
        return _saved(
            models.delete_model(ctx.container, ctx.ids["id"], if_match=ctx.request.if_match)
        )

    def action_deploy(self, ctx: RequestContext) -> Result:
        return Result(models.deploy_model(ctx.container, ctx.ids["id"]).to_json())

    def action_list_deployments(self, ctx: RequestContext) -> Result:
        return Result(models.model_deployments(ctx.container, ctx.ids["id"]))


route(blueprint, "/model", Models())
route(blueprint, "/model/{id}", Model())
