"""Routes 1-5: ``execution`` (message, signal and trigger actions; execution queries).

Administrators only (the default policy has no other rule for ``execution``). Each action is
synchronous when its trigger field is non-null and otherwise queues a job; all three accept an
``Idempotency-Key`` header (``service/executions.py``). Queries read the executions of running
instances (``service/execution_queries.py``).
"""

from chalice import Blueprint

from ..service import idempotency
from ..service.events import actions as executions
from ..service.events.queries import query_executions
from .resource import CollectionResource, RequestContext, Result
from .routing import route

__all__ = ["blueprint"]

blueprint = Blueprint(__name__)


def _act(ctx: RequestContext, action) -> Result:
    return Result(
        action(
            ctx.container, ctx.caller.user_id, ctx.request.content, ctx.header(idempotency.HEADER)
        )
    )


class Executions(CollectionResource):
    name = "execution"

    def query(self, ctx: RequestContext) -> Result:
        return Result(query_executions(ctx.container, ctx.request))

    def action_message(self, ctx: RequestContext) -> Result:
        """``{"messageName", "executionId"?, "processInstanceId"?, "businessKey"?, ...}``."""
        return _act(ctx, executions.message)

    def action_signal(self, ctx: RequestContext) -> Result:
        """``{"signalName", "executionId"?, "processVariables"?}``: no execution: broadcast."""
        return _act(ctx, executions.signal)

    def action_trigger(self, ctx: RequestContext) -> Result:
        """``{"executionId", "processVariables"?, "transientVariables"?}``."""
        return _act(ctx, executions.trigger)


route(blueprint, "/execution", Executions())
