"""Routes 32-42: ``processinstance`` and ``processinstance/history``.

Start (create), query, read, cancel (delete) and migrate (``validateMigration``, ``migrate``)
process instances; query, read and delete historic process instances. Non-administrators may
only start the definitions the process-access rules grant them (checked against the definition
record); everything else here is for administrators (the default policy has no other rule).
"""

from chalice import Blueprint

from ..service import idempotency
from ..service.instances import lifecycle as instances
from ..service.instances import migrate as migrations
from ..service.instances.queries import query_history, query_running
from .resource import CollectionResource, InstanceResource, RequestContext, Result
from .routing import WORKFLOW, route

__all__ = ["blueprint"]

blueprint = Blueprint(__name__)


class ProcessInstances(CollectionResource):
    name = "processinstance"

    def create(self, ctx: RequestContext) -> Result:
        """Start an instance: 201 ``{_id, processInstanceId, status, businessKey, ...}``."""
        start = instances.start_request(ctx.container, ctx.request.content)
        ctx.authorize(start.definition.record)
        response = instances.start(
            ctx.container, ctx.caller.user_id, start, ctx.header(idempotency.HEADER)
        )
        headers = {"Location": f"{WORKFLOW}/processinstance/{response.body['_id']}"}
        return Result(response.body, status=response.status, headers=headers)

    def query(self, ctx: RequestContext) -> Result:
        return Result(query_running(ctx.container, ctx.request))


class ProcessInstance(InstanceResource):
    name = "processinstance"

    def read(self, ctx: RequestContext) -> Result:
        return Result(
            instances.read_instance(ctx.container, ctx.ids["id"], diagram=ctx.requested("diagram"))
        )

    def delete(self, ctx: RequestContext) -> Result:
        """Cancel the instance (``deleteReason`` parameter, else "Deleted by <user>")."""
        return Result(
            instances.delete_instance(
                ctx.container, ctx.caller.user_id, ctx.ids["id"], ctx.request.param("deleteReason")
            )
        )

    def action_validateMigration(self, ctx: RequestContext) -> Result:  # noqa: N802 (CREST name)
        """``{"migrationValid", "validationMessages"}`` for the body's migration."""
        return Result(migrations.validate(ctx.container, ctx.ids["id"], ctx.request.content))

    def action_migrate(self, ctx: RequestContext) -> Result:
        """Migrate; 200 with the instance as ``read`` shows it, 400 when not valid."""
        return Result(migrations.migrate(ctx.container, ctx.ids["id"], ctx.request.content))


class ProcessInstanceHistories(CollectionResource):
    name = "processinstance/history"

    def query(self, ctx: RequestContext) -> Result:
        return Result(query_history(ctx.container, ctx.request))


class ProcessInstanceHistory(InstanceResource):
    name = "processinstance/history"

    def read(self, ctx: RequestContext) -> Result:
        return Result(
            instances.read_history(ctx.container, ctx.ids["sub"], diagram=ctx.requested("diagram"))
        )

    def delete(self, ctx: RequestContext) -> Result:
        return Result(instances.delete_history(ctx.container, ctx.ids["sub"]))


route(blueprint, "/processinstance", ProcessInstances())
route(blueprint, "/processinstance/history", ProcessInstanceHistories())
route(blueprint, "/processinstance/{id}", ProcessInstance())
route(blueprint, "/processinstance/history/{sub}", ProcessInstanceHistory())
