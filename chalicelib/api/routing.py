"""Route registration: every route of the table, and the catch-alls that make unknown paths 404.

Path variables use one name per level (API Gateway rejects sibling variables with different
names): level 4 ``{id}``, level 5 ``{sub}``, level 6 ``{subid}``, level 7 ``{tail}``, counting
``openidm`` as level 1. The seed's ``{procdefid}`` is therefore ``{id}`` here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .http import ALL_METHODS, ANY_CONTENT, serve
from .resource import Resource

if TYPE_CHECKING:
    from chalice import Blueprint
    from chalice.app import Response

__all__ = ["WORKFLOW", "route", "catch_all_paths", "VARIABLES"]

WORKFLOW = "/openidm/workflow"
#: path variable name by depth below ``/openidm/workflow`` (depth 1 is the resource family)
VARIABLES = {1: "resource", 2: "id", 3: "sub", 4: "subid", 5: "tail"}
MAX_DEPTH = 5

#: every real route path (below /openidm/workflow), filled by ``route``
REGISTERED: list[str] = []
#: the resource serving each of them
RESOURCES: dict[str, Resource] = {}


def route(blueprint: Blueprint, path: str, resource: Resource) -> None:
    """Register ``resource`` on ``WORKFLOW + path`` for every method."""
    full = WORKFLOW + path
    name = "view" + path.replace("/", "_").replace("{", "").replace("}", "")

    def view(**ids: str) -> Response:
        return serve(blueprint.current_request, resource, ids)

    view.__name__ = name
    blueprint.route(full, methods=ALL_METHODS, content_types=ANY_CONTENT)(view)
    REGISTERED.append(path)
    RESOURCES[path] = resource


def catch_all_paths(real_paths: Iterable[str]) -> list[str]:
    """Paths (below /openidm/workflow) that catch whatever the real routes do not match.

    Every node of the route tree, down to ``MAX_DEPTH``, that has no variable child gets one,
    named after its level; ``""`` stands for ``/openidm/workflow`` itself.
    """
    real = set(real_paths)
    nodes = {""}
    for path in real:
        parts = [p for p in path.split("/") if p]
        for depth in range(1, len(parts) + 1):
            nodes.add("/" + "/".join(parts[:depth]))
    has_variable_child = {
        node.rsplit("/", 1)[0] for node in nodes if node and node.rsplit("/", 1)[1].startswith("{")
    }
    result: set[str] = set() if "" in real else {""}
    frontier = list(nodes)
    while frontier:
        node = frontier.pop()
        depth = len([p for p in node.split("/") if p])
        if depth >= MAX_DEPTH or node in has_variable_child:
            continue
        child = f"{node}/{{{VARIABLES[depth + 1]}}}"
        has_variable_child.add(node)
        result.add(child)
        frontier.append(child)
    return sorted(result - real)
