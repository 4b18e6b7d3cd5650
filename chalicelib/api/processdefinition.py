"""Routes 26-31: ``processdefinition`` and ``processdefinition/{id}/taskdefinition``.

``processdefinition`` queries ignore ``_pageSize`` and ``_pagedResultsOffset``, as IDM does
(DECISIONS.md: the admin UI sends ``_pageSize=10`` there and expects every definition): every
match comes back, up to the server maximum or the read budget, then a cookie to continue.

Non-administrators see (query, read) only the definitions the process-access rules let them
start, and the task definitions of those; deleting is for administrators.
"""

import dataclasses

from chalice import Blueprint

from ..service.definitions import deploy as deployments
from ..service.definitions import queries as definitions
from ..service.querying import QuerySource, run_query
from .resource import CollectionResource, InstanceResource, RequestContext, Result
from .routing import route

__all__ = ["blueprint"]

blueprint = Blueprint(__name__)

TASK_FIELDS = frozenset(
    {
        "_id",
        "name",
        "assignee",
        "taskCandidateUser",
        "taskCandidateGroup",
        "dueDate",
        "priority",
        "ownerExpression",
        "categoryExpression",
        "descriptionExpression",
        "formResourceKey",
        "formProperties",
    }
)


def _page(ctx: RequestContext, source: QuerySource) -> Result:
    return Result(
        run_query(
            ctx.request,
            source,
            max_page_size=ctx.container.settings.max_page_size,
            read_budget=ctx.container.settings.query_read_budget,
        )
    )


def _definition(ctx: RequestContext) -> definitions.DeployedDefinition:
    """The definition named by the path, after checking the caller may see it."""
    found = definitions.get_definition(ctx.container, ctx.ids["id"])
    ctx.authorize(found.record)
    return found


class ProcessDefinitions(CollectionResource):
    name = "processdefinition"

    def query(self, ctx: RequestContext) -> Result:
        """Every deployed definition (all versions) the caller may start; any filter; paging
        parameters other than the cookie are ignored (see the module doc)."""
        policy = ctx.container.policy
        ctx.request = dataclasses.replace(ctx.request, page_size=0, paged_results_offset=0)
        return _page(
            ctx,
            definitions.query_source(
                ctx.container,
                ctx.request,
                visible=lambda item: policy.permits(ctx.caller, self.name, "read", context=item),
            ),
        )


class ProcessDefinition(InstanceResource):
    name = "processdefinition"

    def read(self, ctx: RequestContext) -> Result:
        """The definition; ``diagram`` (base64 PNG) only when ``_fields`` names it."""
        definition = _definition(ctx)
        body = definitions.read_shape(definition)
        if ctx.requested("diagram"):
            png = definitions.diagram(ctx.container, definition)
            if png is not None:
                body["diagram"] = png
        return Result(body)

    def delete(self, ctx: RequestContext) -> Result:
        """Delete the whole deployment; 200 with the definition as it was."""
        return Result(deployments.delete_deployment(ctx.container, ctx.ids["id"]))


class TaskDefinitions(CollectionResource):
    name = "processdefinition/taskdefinition"

    def query(self, ctx: RequestContext) -> Result:
        items = definitions.task_definitions(_definition(ctx))
        return _page(
            ctx, QuerySource(fetch=lambda token, limit: (items, None), sortable=TASK_FIELDS)
        )


class TaskDefinition(InstanceResource):
    name = "processdefinition/taskdefinition"

    def read(self, ctx: RequestContext) -> Result:
        return Result(definitions.task_definition(_definition(ctx), ctx.ids["subid"]))


route(blueprint, "/processdefinition", ProcessDefinitions())
route(blueprint, "/processdefinition/{id}", ProcessDefinition())
route(blueprint, "/processdefinition/{id}/taskdefinition", TaskDefinitions())
route(blueprint, "/processdefinition/{id}/taskdefinition/{subid}", TaskDefinition())
