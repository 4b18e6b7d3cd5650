"""The CREST resource model the HTTP views dispatch to.

A route of the table is either a *collection* URL (``workflow/processinstance``) or an *instance*
URL (``workflow/processinstance/{id}``). Each is served by a ``Resource`` subclass that defines
only the operations it supports: ``query``, ``create``, ``read``, ``update``, ``delete``,
``patch`` and ``action_<name>`` methods. Whatever it does not define answers the way CREST does:
read, update, delete or patch on a collection URL is 400 ``The resource collection <path> cannot
be <op>``; any other unsupported operation is 501 ``The <OP> operations are not supported``;
an unknown ``_action`` is 400 ``Unknown action``, on a resource that has no action too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..crest import responses
from ..crest.enums import RequestType
from ..crest.request import CrestRequest
from ..errors import BadRequest

if TYPE_CHECKING:
    from ..auth.caller import Caller
    from ..bootstrap import Container

__all__ = ["Result", "RequestContext", "Resource", "CollectionResource", "InstanceResource"]


@dataclass
class Result:
    """What a resource operation returns; the HTTP layer renders it."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    raw: bool = False  # body is bytes/str already (``_mimeType`` downloads)


@dataclass
class RequestContext:
    """One authenticated CREST request, as resources see it."""

    caller: Caller
    request: CrestRequest
    ids: Mapping[str, str]  # decoded path variables
    path: str  # resource path without the ``/openidm/`` prefix
    container: Container
    correlation_id: str
    resource: str = ""  # the name the authorization rules know the resource by
    #: set once ``authorize`` has checked the caller against the item the request is about
    subject_checked: bool = False
    #: request headers, names in lower case (``header`` reads one)
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """The value of the request header ``name`` (any case), or None."""
        return self.headers.get(name.lower())

    def requested(self, name: str) -> bool:
        """True when ``_fields`` names the top-level field ``name`` (``name`` or ``/name``):
        fields that cost work to compute (``diagram``) are only computed then."""
        return any(tuple(field) == (name,) for field in self.request.fields)

    def authorize(self, subject: Mapping[str, Any]) -> None:
        """Check the caller against the item this request acts on (the task, the definition).

        Raises ``Forbidden``. Resources call it after loading the item, before acting.
        """
        request = self.request
        self.container.policy.authorize(
            self.caller, self.resource, request.request_type, action=request.action, context=subject
        )
        self.subject_checked = True

    @property
    def body(self) -> dict:
        return self.request.content or {}


_COLLECTION_ONLY_INVALID = {
    RequestType.READ,
    RequestType.UPDATE,
    RequestType.DELETE,
    RequestType.PATCH,
}


class Resource:
    """Base of every resource: dispatch a CREST request to the operation that serves it."""

    #: the name the authorization rules know this resource by, e.g. ``taskinstance``
    name: str = ""
    #: True for collection URLs, False for instance URLs
    collection: bool = True
    #: False only where the answer is the same for every authenticated caller (unknown paths)
    authorize: bool = True
    #: True where ``GET ?_api`` answers the OpenAPI description of this route (not unknown paths)
    describable: bool = True

    def dispatch(self, ctx: RequestContext) -> Result:
        """Call the operation named by the request type (and ``_action``)."""
        kind = ctx.request.request_type
        if kind is RequestType.ACTION:
            return self._action_handler(ctx.request.action)(ctx)
        operation: Callable[[RequestContext], Result] | None = getattr(self, kind.value, None)
        if operation is None:
            raise self._unsupported(kind, ctx.path)
        return operation(ctx)

    def _action_handler(self, action: str | None) -> Callable[[RequestContext], Result]:
        actions = self.actions()
        handler = actions.get(action or "")
        if handler is None:  # also where the resource has no action at all (DECISIONS.md)
            supported = ", ".join(sorted(actions)) or "none"
            raise BadRequest(f"Unknown action: {action!r}; supported: {supported}")
        return handler

    def actions(self) -> dict[str, Callable[[RequestContext], Result]]:
        """Actions this resource supports: every ``action_<name>`` method."""
        found = {}
        for attr in dir(type(self)):
            if attr.startswith("action_"):
                found[attr[len("action_") :]] = getattr(self, attr)
        return found

    def _unsupported(self, kind: RequestType, path: str) -> Exception:
        if self.collection and kind in _COLLECTION_ONLY_INVALID:
            return responses.not_supported_on_collection(path, kind)
        return responses.not_supported_on_instance(kind.value.upper())


class CollectionResource(Resource):
    collection = True


class InstanceResource(Resource):
    collection = False
