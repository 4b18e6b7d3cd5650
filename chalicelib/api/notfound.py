"""Catch-all routes: any path under ``/openidm/workflow`` that no route serves is a CREST 404.

Chalice (and API Gateway) would otherwise answer 403 "Missing Authentication Token" before the
application runs. Registered last, after every real route, from the table the other blueprints
filled (static segments win over variables, so these never shadow a real route).
"""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import Response

from ..crest import responses
from .resource import RequestContext, Resource, Result
from .routing import REGISTERED, WORKFLOW, catch_all_paths

__all__ = ["build_blueprint"]


class Unknown(Resource):
    """Whatever the request, the resource does not exist."""

    name = "unknown"
    authorize = False
    describable = False

    def dispatch(self, ctx: RequestContext) -> Result:
        raise responses.resource_not_found(ctx.path)


def build_blueprint() -> Blueprint:
    """A blueprint with one catch-all route per free level of the route tree."""
    from .http import ALL_METHODS, ANY_CONTENT, serve

    blueprint = Blueprint(__name__)
    resource = Unknown()
    for path in catch_all_paths(REGISTERED):

        def view(**ids: str) -> Response:
            return serve(blueprint.current_request, resource, ids)

        view.__name__ = "not_found" + path.replace("/", "_").replace("{", "").replace("}", "")
        blueprint.route(WORKFLOW + path, methods=ALL_METHODS, content_types=ANY_CONTENT)(view)
    return blueprint
