"""``/openidm/workflow`` itself: ``GET ?_api`` answers the OpenAPI 3 description of the routes
(as CREST serves ``?_api``), anything else is the CREST 404 of an unknown resource.

Any authenticated caller may read the description (it says nothing about stored data). It is
built on the first request (``api.openapi.describe``), not at import.
"""

from chalice import Blueprint

from ..crest import responses
from ..crest.enums import RequestType
from .resource import RequestContext, Resource, Result
from .routing import route

__all__ = ["blueprint", "API_PARAMETER"]

API_PARAMETER = "_api"

blueprint = Blueprint(__name__)


class ApiRoot(Resource):
    name = "workflow"
    collection = False
    authorize = False

    def dispatch(self, ctx: RequestContext) -> Result:
        request = ctx.request
        if request.request_type is RequestType.READ and API_PARAMETER in (
            request.additional_parameter_lists
        ):
            from .openapi import describe

            return Result(describe())
        raise responses.resource_not_found(ctx.path)


route(blueprint, "", ApiRoot())
