"""``/openidm/workflow`` itself: ``GET ?_api`` answers the OpenAPI 3 description of every route
(as CREST serves ``?_api``; ``api.http.serve`` answers it on every route, built on the first
request by ``api.openapi``); anything else is the CREST 404 of an unknown resource.
"""

from chalice import Blueprint

from ..crest import responses
from .resource import RequestContext, Resource, Result
from .routing import route

__all__ = ["blueprint"]

blueprint = Blueprint(__name__)


class ApiRoot(Resource):
    name = "workflow"
    collection = False
    authorize = False

    def dispatch(self, ctx: RequestContext) -> Result:
        raise responses.resource_not_found(ctx.path)


route(blueprint, "", ApiRoot())
