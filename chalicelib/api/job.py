"""Routes 6-17: ``job`` and ``job/deadletter`` (administrators only).

``job`` lists every job of the runtime (async continuations, queued deliveries, timers whether
due or not); dead-letter jobs are only under ``job/deadletter`` (DECISIONS.md).
"""

from chalice import Blueprint

from ..service.jobs import actions as jobs
from ..service.jobs import queries as job_queries
from ..service.querying import run_query
from .resource import CollectionResource, InstanceResource, RequestContext, Result
from .routing import route

__all__ = ["blueprint"]

blueprint = Blueprint(__name__)


def _query(ctx: RequestContext, dead: bool) -> Result:
    source = job_queries.job_source(ctx.container, ctx.request, dead=dead)
    return Result(
        run_query(
            ctx.request,
            source,
            max_page_size=ctx.container.settings.max_page_size,
            read_budget=ctx.container.settings.query_read_budget,
        )
    )


class Jobs(CollectionResource):
    name = "job"

    def query(self, ctx: RequestContext) -> Result:
        return _query(ctx, dead=False)


class Job(InstanceResource):
    name = "job"

    def read(self, ctx: RequestContext) -> Result:
        return Result(job_queries.read_job(ctx.container, ctx.ids["id"]))

    def delete(self, ctx: RequestContext) -> Result:
        return Result(job_queries.delete_job(ctx.container, ctx.ids["id"]))

    def action_execute(self, ctx: RequestContext) -> Result:
        """Run now, even if not due; a failing job still answers 200 (DECISIONS.md)."""
        return Result(jobs.execute(ctx.container, ctx.ids["id"]))

    def action_stacktrace(self, ctx: RequestContext) -> Result:
        return Result(job_queries.stacktrace(ctx.container, ctx.ids["id"]))


class DeadLetterJobs(CollectionResource):
    name = "job/deadletter"

    def query(self, ctx: RequestContext) -> Result:
        return _query(ctx, dead=True)


class DeadLetterJob(InstanceResource):
    name = "job/deadletter"

    def read(self, ctx: RequestContext) -> Result:
        return Result(job_queries.read_job(ctx.container, ctx.ids["sub"], dead=True))

    def delete(self, ctx: RequestContext) -> Result:
        return Result(job_queries.delete_job(ctx.container, ctx.ids["sub"], dead=True))

    def action_execute(self, ctx: RequestContext) -> Result:
        """Back to the runtime with fresh retries (body ``{"retries": n}``, default 3)."""
        return Result(
            jobs.move_to_executable(ctx.container, ctx.ids["sub"], ctx.body.get("retries"))
        )

    def action_stacktrace(self, ctx: RequestContext) -> Result:
        return Result(job_queries.stacktrace(ctx.container, ctx.ids["sub"], dead=True))


route(blueprint, "/job", Jobs())
route(blueprint, "/job/deadletter", DeadLetterJobs())
route(blueprint, "/job/{id}", Job())
route(blueprint, "/job/deadletter/{sub}", DeadLetterJob())
