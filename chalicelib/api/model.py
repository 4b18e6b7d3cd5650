"""Routes 18-25: ``model`` (BPMN models: create, read, update, delete, query, validate, deploy)."""
from chalice import Blueprint

from ..service import repository
from ..service.querying import QuerySource, run_query
from .resource import CollectionResource, InstanceResource, RequestContext, Result
from .routing import route

__all__ = ["blueprint"]

blueprint = Blueprint(__name__)


#: the model's fields; ``bpmnXML`` and ``resourceMap`` only when named in ``_fields``
ITEM_FIELDS = frozenset({"_id", "_rev", "name", "description", "createTime", "lastModified"})
HEAVY_FIELDS = ("bpmnXML", "resourceMap")


class Models(CollectionResource):
    name = "model"

    def query(self, ctx: RequestContext) -> Result:
        """Stored models; any ``_queryFilter``; sortable by ``createTime`` and other fields."""
        requested = {"/".join(field) for field in ctx.request.fields}
        keep = {name for name in HEAVY_FIELDS if name in requested}

        def shape(item) -> dict:
            return {k: v for k, v in item.data.items() if k not in HEAVY_FIELDS or k in keep}

        container = ctx.container
        source = QuerySource(fetch=repository.listing(container.store, repository.MODEL, shape),
                             sortable=ITEM_FIELDS)
        return Result(run_query(ctx.request, source,
                                max_page_size=container.settings.max_page_size))


class Model(InstanceResource):
    name = "model"


route(blueprint, "/model", Models())
route(blueprint, "/model/{id}", Model())
