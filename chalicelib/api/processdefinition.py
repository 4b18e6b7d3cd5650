"""Routes 26-31: ``processdefinition`` and ``processdefinition/{id}/taskdefinition``."""
from chalice import Blueprint

from ..service import repository
from ..service.querying import QuerySource, run_query
from .resource import CollectionResource, InstanceResource, RequestContext, Result
from .routing import route

__all__ = ["blueprint"]

blueprint = Blueprint(__name__)


#: api-reference.md §8 item fields (any of them may be a sort key, DECISIONS.md)
ITEM_FIELDS = frozenset({
    "_id", "_rev", "key", "name", "category", "description", "version", "deploymentId",
    "resourceName", "processDiagramResourceName", "hasStartFormKey", "graphicalNotationDefined",
    "suspended", "suspensionState", "tenantId"})


class ProcessDefinitions(CollectionResource):
    name = "processdefinition"

    def query(self, ctx: RequestContext) -> Result:
        """Every deployed definition (all versions) the caller may start."""
        container = ctx.container
        source = QuerySource(
            fetch=repository.listing(container.store, repository.PROCESS_DEFINITION,
                                     lambda item: dict(item.data)),
            sortable=ITEM_FIELDS,
            visible=lambda item: container.policy.permits(ctx.caller, self.name, "read",
                                                          context=item))
        return Result(run_query(ctx.request, source,
                                max_page_size=container.settings.max_page_size))


class ProcessDefinition(InstanceResource):
    name = "processdefinition"


class TaskDefinitions(CollectionResource):
    name = "processdefinition/taskdefinition"


class TaskDefinition(InstanceResource):
    name = "processdefinition/taskdefinition"


route(blueprint, "/processdefinition", ProcessDefinitions())
route(blueprint, "/processdefinition/{id}", ProcessDefinition())
route(blueprint, "/processdefinition/{id}/taskdefinition", TaskDefinitions())
route(blueprint, "/processdefinition/{id}/taskdefinition/{subid}", TaskDefinition())
