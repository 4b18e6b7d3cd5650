"""Routes 43-53: ``taskinstance`` and ``taskinstance/history``.

Administrators may do everything. An authorized user may read and update a task where they are
the assignee or a candidate, complete it only as its assignee, and query only
``_queryId=unassignedTaskQuery``; claim, delete and history are for administrators
(``auth.rules.default_policy``). The services check the caller against the task they load.
"""

from chalice import Blueprint

from ..crest.request import CrestRequest
from ..service.querying import QuerySource, run_query
from ..service.tasks import commands as tasks
from ..service.tasks import queries as task_queries
from ..service.tasks.commands import TaskAction
from .resource import CollectionResource, InstanceResource, RequestContext, Result
from .routing import route

__all__ = ["blueprint"]

blueprint = Blueprint(__name__)


def _page(ctx: RequestContext, request: CrestRequest, source: QuerySource) -> Result:
    return Result(
        run_query(
            request,
            source,
            max_page_size=ctx.container.settings.max_page_size,
            read_budget=ctx.container.settings.query_read_budget,
        )
    )


def _etag(rev: str) -> dict[str, str]:
    return {"ETag": f'"{rev}"'}


def _performed(action: TaskAction) -> Result:
    return Result({"Task action performed": action.value})


class TaskInstances(CollectionResource):
    name = "taskinstance"

    def query(self, ctx: RequestContext) -> Result:
        """Open tasks: any filter, ``filtered-query``, ``unassignedTaskQuery``."""
        ctx.authorize({"_queryId": ctx.request.query_id})
        source = task_queries.open_task_source(ctx.container, ctx.request, ctx.caller)
        return _page(ctx, ctx.request, source)


class TaskInstance(InstanceResource):
    name = "taskinstance"

    def read(self, ctx: RequestContext) -> Result:
        item = tasks.read_task(ctx.container, ctx.ids["id"], ctx.authorize)
        return Result(item, headers=_etag(item["_rev"]))

    def create(self, ctx: RequestContext) -> Result:
        """PUT with ``If-None-Match: *``: 412 when the task exists, else 501."""
        tasks.refuse_create(ctx.container, ctx.ids["id"])

    def update(self, ctx: RequestContext) -> Result:
        task_id = ctx.ids["id"]
        rev = tasks.update_task(
            ctx.container,
            task_id,
            ctx.body,
            if_match=ctx.request.if_match,
            authorize=ctx.authorize,
            user_id=ctx.caller.user_id,
        )
        return Result({"_id": task_id, "Task updated": task_id}, headers=_etag(rev))

    def delete(self, ctx: RequestContext) -> Result:
        tasks.delete_task(ctx.container, ctx.ids["id"], ctx.authorize)

    def action_claim(self, ctx: RequestContext) -> Result:
        tasks.claim_task(
            ctx.container,
            ctx.ids["id"],
            ctx.body,
            authorize=ctx.authorize,
            user_id=ctx.caller.user_id,
        )
        return _performed(TaskAction.CLAIM)

    def action_complete(self, ctx: RequestContext) -> Result:
        tasks.complete_task(
            ctx.container,
            ctx.ids["id"],
            ctx.body,
            authorize=ctx.authorize,
            user_id=ctx.caller.user_id,
        )
        return _performed(TaskAction.COMPLETE)


class TaskInstanceHistories(CollectionResource):
    name = "taskinstance/history"

    def query(self, ctx: RequestContext) -> Result:
        """Historic tasks (open and finished): any filter, ``filtered-query``."""
        request = task_queries.history_sort_keys(ctx.request)
        return _page(ctx, request, task_queries.history_task_source(ctx.container, request))


class TaskInstanceHistory(InstanceResource):
    name = "taskinstance/history"

    def read(self, ctx: RequestContext) -> Result:
        return Result(tasks.read_history_task(ctx.container, ctx.ids["sub"]))


route(blueprint, "/taskinstance", TaskInstances())
route(blueprint, "/taskinstance/history", TaskInstanceHistories())
route(blueprint, "/taskinstance/{id}", TaskInstance())
route(blueprint, "/taskinstance/history/{sub}", TaskInstanceHistory())
